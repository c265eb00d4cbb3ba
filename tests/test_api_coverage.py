"""tools/api_coverage.py: the extraction heuristic, the check, and the coverage it reports.

The check runs on the committed tools/torch_api_usage.json (no network, no corpus needed): every
PyTorch name that at least 3 of the scanned public programs use must exist in ganglion with the
same meaning or be listed in DELIBERATELY_LEFT_OUT with a reason. Names still missing while other
work lands are marked xfail(strict=True) one by one, so each mark fails once its name arrives.
"""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "api_coverage.py"
USAGE = json.loads((ROOT / "tools" / "torch_api_usage.json").read_text())
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _load_tool():
    spec = importlib.util.spec_from_file_location("api_coverage", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["api_coverage"] = module
    spec.loader.exec_module(module)
    return module


api_coverage = _load_tool()

# Used by >= 3 programs and not (yet) in ganglion with PyTorch's meaning, with what is wrong.
KNOWN_MISSING = {
}


@pytest.fixture(scope="module")
def report():
    return api_coverage.check(USAGE)


# ----------------------------------------------------------------------------- committed data
def test_usage_json_lists_the_programs_scanned():
    repos = {p["repo"] for p in USAGE["programs"]}
    assert repos == {"pytorch/examples", "pytorch/tutorials"}
    assert len(USAGE["programs"]) >= 60
    paths = {f"{p['repo']}:{p['path']}" for p in USAGE["programs"]}
    assert "pytorch/examples:mnist/main.py" in paths
    assert "pytorch/tutorials:beginner_source/basics/quickstart_tutorial.py" in paths
    # Each name's programs are among those scanned, and its count is their number.
    for name, info in USAGE["names"].items():
        assert info["programs"] == len(info["used_in"]) and set(info["used_in"]) <= paths, name


FREQUENT = sorted(name for name, info in USAGE["names"].items() if info["programs"] >= 3)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSING[name]))
    if name in KNOWN_MISSING else name for name in FREQUENT])
def test_name_used_by_three_programs_is_present_or_left_out(name, report):
    not_covered = {e["name"]: e["reason"] for e in report["missing"]}
    assert name not in not_covered, f"{name}: {not_covered.get(name)}"


def test_known_missing_are_all_frequent_names():
    assert set(KNOWN_MISSING) <= set(FREQUENT)


def test_report_counts_add_up(report):
    overall = report["overall"]
    assert overall["names"] + overall["left_out"] == len(USAGE["names"])
    assert overall["present"] == overall["names"] - len(report["missing"])
    assert sum(ns["names"] for ns in report["namespaces"].values()) == overall["names"]
    assert 0.0 < overall["name_coverage"] <= 1.0 and 0.0 < overall["weighted_coverage"] <= 1.0
    assert [e["programs"] for e in report["missing"]] == sorted(
        (e["programs"] for e in report["missing"]), reverse=True)
    assert report["torch_compared"] == HAS_TORCH


def test_every_left_out_entry_has_a_reason(report):
    assert all(reason.strip() for reason in api_coverage.DELIBERATELY_LEFT_OUT.values())
    for entry in report["left_out"]:
        assert api_coverage.left_out_reason(entry["name"])[1] == entry["reason"]


# ----------------------------------------------------------------------------- extraction
PROGRAM = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Net(nn.Module):
    def forward(self, x):
        self.data = x                                  # self.<attr>: not a Tensor attribute
        return F.relu(x.view(-1, 4), inplace=True)


words = "a b".split()                                  # str.split: ambiguous, not counted
parts = torch.cat([torch.ones(2)]).split(1)            # rooted in a torch call: counted
index = torch.device("cpu").index                      # a device, not a Tensor
total = np.sum([1, 2])                                 # NumPy module attribute, not a Tensor's
loader = DataLoader(datasets.MNIST("x"), batch_size=4, shuffle=True)
opt = optim.SGD(Net().parameters(), lr=0.1)
y = torch.zeros(3, dtype=torch.float).sum(dim=0)
'''


def test_extract_resolves_aliases_and_applies_the_tensor_heuristic(tmp_path):
    folder = tmp_path / "repo"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "prog.py").write_text(PROGRAM)
    (folder / "broken.py").write_text("def (:\n")
    (folder / "plain.py").write_text("import numpy\nprint(numpy.ones(2).sum())\n")
    out = tmp_path / "usage.json"
    usage = api_coverage.extract([("someone/repo", folder)], out)
    assert json.loads(out.read_text()) == usage
    assert usage["programs"] == [{"repo": "someone/repo", "path": "sub/prog.py"}]
    assert [u["path"] for u in usage["unparsable"]] == ["broken.py"]
    names = usage["names"]
    for expected in ["torch", "torch.nn", "torch.nn.Module", "torch.nn.functional",
                     "torch.nn.functional.relu", "torch.optim", "torch.optim.SGD", "torch.utils.data.DataLoader",
                     "torchvision.datasets", "torchvision.datasets.MNIST", "torchvision.transforms",
                     "torch.cat", "torch.ones", "torch.zeros", "torch.float", "torch.device",
                     "torch.Tensor.view", "torch.Tensor.split", "torch.Tensor.sum"]:
        assert names[expected]["used_in"] == ["someone/repo:sub/prog.py"], expected
    for absent in ["torch.Tensor.data", "torch.Tensor.index", "torch.Tensor.parameters"]:
        assert absent not in names, absent
    assert names["torch.utils.data.DataLoader"]["keywords"] == {"batch_size": 1, "shuffle": 1}
    assert names["torch.nn.functional.relu"]["keywords"] == {"inplace": 1}
    assert names["torch.zeros"]["keywords"] == {"dtype": 1}
    assert names["torch.Tensor.sum"]["keywords"] == {"dim": 1}
    assert names["torch.optim.SGD"]["keywords"] == {"lr": 1}


# ----------------------------------------------------------------------------- the check's parts
def test_name_mapping():
    assert api_coverage.ganglion_name("torch.nn.functional.relu") == "ganglion.nn.functional.relu"
    assert api_coverage.ganglion_name("torch.utils.data.DataLoader") == \
        "ganglion.utils.data.DataLoader"
    assert api_coverage.ganglion_name("torchvision.transforms.ToTensor") == \
        "ganglion.vision.transforms.ToTensor"
    assert api_coverage.ganglion_name("torchvision") == "ganglion.vision"
    assert api_coverage.namespace_of("torch.nn.functional.relu") == "torch.nn.functional"
    assert api_coverage.namespace_of("torch.nn.Linear") == "torch.nn"
    assert api_coverage.namespace_of("torch.Tensor.view") == "torch.Tensor"
    assert api_coverage.namespace_of("torch.cuda.is_available") == "torch"
    assert api_coverage.left_out_reason("torch.jit.script")[0] == "torch.jit"
    assert api_coverage.left_out_reason("torch.jitter") is None


def test_resolve_imports_submodules_and_reports_missing():
    import ganglion.nn.functional

    assert api_coverage.resolve("ganglion.nn.functional.relu") is ganglion.nn.functional.relu
    assert api_coverage.resolve("ganglion.no_such_name") is api_coverage._MISSING
    assert api_coverage.resolve("no_such_package.x") is api_coverage._MISSING


def test_keyword_check_uses_pytorch_parameters():
    def torch_like(input, dim=None, keepdim=False):
        return input

    def ganglion_short(input, dim=None):
        return input

    def ganglion_any(input, **kwargs):
        return input

    problems = api_coverage._keyword_problems(torch_like, ganglion_short,
                                              {"keepdim": 2, "dim": 1, "axis": 1})
    # keepdim is PyTorch's and refused; axis is not PyTorch's (a mis-attributed call): ignored.
    assert problems == ["does not accept keyword keepdim (passed by the programs)"]
    assert api_coverage._keyword_problems(torch_like, ganglion_any, {"keepdim": 1}) == []
    assert api_coverage._kinds_agree("class", "callable")
    assert not api_coverage._kinds_agree("module", "value")


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_parameter_names_read_from_pytorch_docstrings():
    import torch

    names, any_keyword = api_coverage.parameter_names(torch.zeros)
    assert {"size", "out", "dtype", "layout", "device", "requires_grad"} <= names
    assert not any_keyword
    assert api_coverage.parameter_names(torch.Tensor.sum)[0] >= {"dim", "keepdim", "dtype"}


def test_check_classifies_present_missing_and_left_out():
    usage = {"programs": [{"repo": "r", "path": "a.py"}, {"repo": "r", "path": "b.py"}],
             "names": {
                 "torch.zeros": {"programs": 2, "used_in": ["r:a.py", "r:b.py"],
                                 "keywords": {"dtype": 1}},
                 "torch.no_such_function": {"programs": 1, "used_in": ["r:a.py"], "keywords": {}},
                 "torch.jit.script": {"programs": 1, "used_in": ["r:b.py"], "keywords": {}},
                 "torch.Tensor.view": {"programs": 1, "used_in": ["r:a.py"], "keywords": {}},
             }}
    result = api_coverage.check(usage)
    assert [e["name"] for e in result["missing"]] == ["torch.no_such_function"]
    assert result["missing"][0]["reason"] == "ganglion.no_such_function does not exist"
    assert [e["name"] for e in result["left_out"]] == ["torch.jit.script"]
    overall = result["overall"]
    assert (overall["names"], overall["present"], overall["left_out"]) == (3, 2, 1)
    assert overall["name_coverage"] == pytest.approx(2 / 3)
    assert overall["weighted_coverage"] == pytest.approx(3 / 4)  # weights 2 + 1 of 2 + 1 + 1


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_behaviour_probe_flags_a_different_result(monkeypatch):
    usage = {"programs": [{"repo": "r", "path": "a.py"}],
             "names": {"torch.zeros": {"programs": 1, "used_in": ["r:a.py"], "keywords": {}},
                       "torch.cat": {"programs": 1, "used_in": ["r:a.py"], "keywords": {}}}}
    monkeypatch.setitem(api_coverage.PROBES, "torch.zeros", lambda t: t.__name__)
    result = api_coverage.check(usage)
    assert [e["name"] for e in result["missing"]] == ["torch.zeros"]
    assert result["missing"][0]["reason"] == (
        "behaves differently: PyTorch gives 'torch', ganglion 'ganglion' (PROBES['torch.zeros'])")
    assert api_coverage._run_probe(lambda t: 1 / 0, None) == ("raises", "ZeroDivisionError")


def test_command_line_prints_tables_and_json(capsys):
    assert api_coverage.main([]) == 0
    text = capsys.readouterr().out
    assert "overall" in text and "Missing or different" in text
    assert "DELIBERATELY_LEFT_OUT table:" in text and "torch.jit" in text
    assert api_coverage.main(["--json", "--missing"]) == 0
    missing = json.loads(capsys.readouterr().out)
    assert set(missing) == {"missing"}
    assert all({"name", "programs", "reason"} <= set(e) for e in missing["missing"])
    assert api_coverage.main(["--missing"]) == 0
    assert "DELIBERATELY_LEFT_OUT" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        api_coverage.main(["extract"])
