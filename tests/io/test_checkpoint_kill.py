"""A save killed with SIGKILL at random moments keeps the previous checkpoint loadable, and the
next save removes the temporary files the killed ones left (issue 12, item 6)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ganglion.io import load, save
from ganglion.io.checkpoint import remove_stale_temp_files

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid checks are POSIX")

# Saves versions 1, 2, 3, ... of a 24 MB checkpoint (every element equal to the version) to
# argv[1] for ever, saying "ready" once imported and "writing" as each write starts, so that the
# parent can kill it at any moment of the loop or just after a write began.
_CHILD = """
import sys
import numpy as np
from ganglion.io import checkpoint, save
write_bytes = checkpoint._write_bytes

def announced_write(file, data):
    print("writing", flush=True)
    write_bytes(file, data)

checkpoint._write_bytes = announced_write
print("ready", flush=True)
version = 0
while True:
    version += 1
    save({"w": np.full(6_000_000, version % 1000, np.float32), "version": version % 1000},
         sys.argv[1])
"""
_SIZE = 6_000_000


def _temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_random_sigkills_keep_the_previous_checkpoint_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "big.safetensors"
    save({"w": np.zeros(_SIZE, np.float32), "version": 0}, path)
    rng = np.random.default_rng(0)
    leaked, started = 0, time.monotonic()
    kills = 0
    while kills < 12 or (leaked == 0 and time.monotonic() - started < 15):
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            if kills % 2:  # somewhere in the write, its fsync, the rename or just after
                assert child.stdout.readline().strip() == "writing"
                time.sleep(rng.uniform(0.0, 0.05))
            else:  # anywhere in the loop
                time.sleep(rng.uniform(0.0, 0.4))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()  # reaped, so that its pid no longer counts as running
            child.stdout.close()
        kills += 1
        leaked = max(leaked, len(_temp_files(tmp_path)))
        state = load(path)  # the checkpoint is always one whole saved version
        version = state["version"]
        assert state["w"].shape == (_SIZE,) and state["w"].min() == state["w"].max() == version
    assert leaked > 0, "no kill landed mid-write: the test did not test the cleanup"
    save({"w": np.ones(_SIZE, np.float32), "version": -1}, path)
    assert _temp_files(tmp_path) == []
    assert load(path)["version"] == -1


def test_only_dead_writers_temp_files_of_this_target_are_removed(tmp_path):
    target = tmp_path / "c.safetensors"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from ganglion.io.checkpoint import _HOST
    names = {
        "dead": f".c.safetensors.{_HOST}.{dead.pid}.0123abcd.tmp",           # removed
        "alive": f".c.safetensors.{_HOST}.{os.getppid()}.0123abcd.tmp",      # kept: running
        "own": f".c.safetensors.{_HOST}.{os.getpid()}.0123abcd.tmp",         # kept: this process
        "other_host": f".c.safetensors.elsewhere.{dead.pid}.0123abcd.tmp",   # kept: recent
        "old_style": ".c.safetensors.ab_3xyz9.tmp",                          # kept: recent
        "other_target": f".c.safetensors.bak.{_HOST}.{dead.pid}.0123abcd.tmp",
        "unrelated": f".c.safetensors.{_HOST}.{dead.pid}.notes.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    removed = remove_stale_temp_files(target)
    assert [p.name for p in removed] == [names["dead"]]
    old = time.time() - 2 * 3600
    for key in ("other_host", "old_style", "alive", "own", "other_target", "unrelated"):
        os.utime(tmp_path / names[key], (old, old))
    removed = sorted(p.name for p in remove_stale_temp_files(target))
    # Stale by age: another host's, an old-style name, a live pid's (perhaps reused); never
    # this process's own (another thread may be writing it) or other targets' files.
    assert removed == sorted([names["other_host"], names["old_style"], names["alive"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [names["own"], names["other_target"], names["unrelated"]])
