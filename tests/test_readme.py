"""The README's Python examples run as written (so the first thing a user copies never rots)."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    namespace = {}
    # Later blocks continue earlier ones (the symbolic example uses the eager one's imports).
    for block in BLOCKS[:index + 1]:
        exec(compile(block, f"README.md block {index}", "exec"), namespace)
    block = BLOCKS[index]
    if index == 0:
        assert float(namespace["loss"]) < 2.4
    elif "import ganglion as torch" in block:  # the porting example: PyTorch's names resolve
        import ganglion
        assert namespace["torch"] is ganglion and namespace["nn"] is ganglion.nn
        assert namespace["torchvision"].transforms.ToTensor is not None
        assert namespace["DataLoader"] is ganglion.data.DataLoader
    else:
        assert namespace["train"] is not None and namespace["gw"].shape == (784, 10)
