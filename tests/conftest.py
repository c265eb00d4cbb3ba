"""Test-wide settings: a hypothesis profile sized for a 2-core CI machine, and the data folder.

Real datasets are read in place from ``../shared/datasets`` beside the repository (never copied
in): ``GANGLION_DATA`` points there when the folder exists and the variable is not already set.
Tests that need a dataset skip with a reason when it is absent.
"""
import os
from pathlib import Path

from hypothesis import settings

settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
if SHARED_DATASETS.is_dir():
    os.environ.setdefault("GANGLION_DATA", str(SHARED_DATASETS))
