"""Run the recorded benchmarks one after another (``make bench``); see RESULTS.md.

The per-kernel scripts (conv_kernels.py, pool_kernels.py, lstm.py) run on their own.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlp_step  # noqa: E402
import models  # noqa: E402
import symbolic_compile_time  # noqa: E402
import symbolic_mlp  # noqa: E402
import transformer  # noqa: E402

if __name__ == "__main__":
    mlp_step.run()
    symbolic_mlp.run()
    symbolic_compile_time.run()
    models.run(list(models.WORKLOADS))
    transformer.run()
