"""Test-wide settings: a hypothesis profile sized for a 2-core CI machine, and the data folder.

Real datasets are read in place from ``../shared/datasets`` beside the repository (never copied
in): ``GANGLION_DATA`` points there when the folder exists and the variable is not already set.
Tests that need a dataset skip with a reason when it is absent.

OpenMP threads (PyTorch's, and oneDNN's through ganglion) wait passively: ``make test`` runs two
workers on two cores, and threads that spin while waiting take the cores the other worker needs
(the demo test took 100 s in the suite against 4 s alone). PyTorch is imported before ganglion
loads oneDNN, so ganglion's own default cannot apply here.
"""
import os
from pathlib import Path

from hypothesis import settings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
if SHARED_DATASETS.is_dir():
    os.environ.setdefault("GANGLION_DATA", str(SHARED_DATASETS))
