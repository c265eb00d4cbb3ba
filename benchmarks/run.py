"""Run every benchmark in this folder, one after another (python benchmarks/run.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlp_step  # noqa: E402
import symbolic_compile_time  # noqa: E402
import symbolic_mlp  # noqa: E402

if __name__ == "__main__":
    mlp_step.run()
    symbolic_mlp.run()
    symbolic_compile_time.run()
