"""How much of the PyTorch API that real programs use does ganglion have, with the same meaning?

Two steps:

``python tools/api_coverage.py extract [REPO=]DIR ...``
    Parses every ``.py`` file under each DIR with :mod:`ast` (files that do not parse are skipped
    and listed) and writes ``tools/torch_api_usage.json``: for each PyTorch name the programs use,
    how many programs use it, which ones, and the keyword arguments they pass to it; plus the list
    of programs scanned (repository + path). ``REPO=`` names the repository a folder was copied
    from (default: the folder's name), e.g.
    ``extract pytorch/examples=/work/corpus/examples pytorch/tutorials=/work/corpus/tutorials``.
    A *program* is one ``.py`` file. Extraction needs PyTorch installed (it asks ``torch.Tensor``
    which attribute names are Tensor methods); the check below does not.

``python tools/api_coverage.py [check] [--json] [--missing] [--usage FILE]``
    Loads the JSON and resolves each name in ganglion: ``torch.X`` -> ``ganglion.X``,
    ``torch.nn.X`` -> ``ganglion.nn.X``, ``torch.utils.data.X`` -> ``ganglion.utils.data.X``,
    ``torchvision.X`` -> ``ganglion.vision.X``, Tensor methods -> ``ganglion.Tensor.X``. A name is
    *present* when it resolves (import + getattr) and, where PyTorch is importable, means the same:
    the same kind (module / class / callable / value; a class on one side and a function on the
    other is accepted, both being callables that build the thing) and, for callables, every
    keyword the scanned programs pass to it that PyTorch's signature has is accepted by ganglion's
    signature (when ganglion's is inspectable), and for the much-used names in ``PROBES`` a small
    call gives the same values in both frameworks. It prints coverage overall and per namespace, by
    name count and weighted by the number of programs using each name, then the missing names
    ranked by how many programs use them, then the names deliberately left out with the reason
    (``DELIBERATELY_LEFT_OUT`` below; those are not counted as missing).
    ``--json`` prints the same as JSON; ``--missing`` prints only the missing names.

What is collected (the heuristic, on purpose simple and stated):

* Import aliases are resolved per file, whatever the scope: ``import torch``, ``import torch.nn as
  nn``, ``from torch import nn, optim``, ``from torch.utils.data import DataLoader``, ``import
  torchvision``, ``from torchvision import datasets, transforms`` ... . Every imported torch name is
  itself a use (``from torch.utils.data import DataLoader`` uses ``torch.utils.data.DataLoader``).
* A dotted chain ``a.b.c`` whose root name is a torch alias is recorded by its full path
  (``F.relu`` -> ``torch.nn.functional.relu``); only the longest chain is recorded, not its
  prefixes (``torch.nn.functional.relu`` does not also count ``torch.nn``).
* Tensor methods/attributes: an attribute access ``<expr>.name`` where ``name`` is a public
  attribute of ``torch.Tensor`` counts as ``torch.Tensor.name``, except when ``<expr>`` is
  ``self``, ``args``, or a name bound to a non-torch import (``np.sum``, ``math.pi``, ``os.path``).
  Only files that import torch or torchvision are programs (their NumPy-only neighbours would
  otherwise count ``.sum``). Types are not inferred, so a NumPy array's ``.shape`` counts too (such names exist on ganglion's
  Tensor as well, so this over-counts use, not missing names).
* Names that are also methods of ``list``, ``dict``, ``str``, ``set`` or ``tuple`` (``index``,
  ``split``, ``copy``, ``add``, ``sort`` ...) are ambiguous and count only on an expression rooted
  in a torch call: ``torch.cat(xs).split(2)`` counts ``split``, ``line.split()`` does not.
"""
import argparse
import ast
import importlib
import inspect
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

USAGE_JSON = Path(__file__).resolve().with_name("torch_api_usage.json")

# Namespaces reported separately, longest prefix first (a name belongs to the first that matches).
NAMESPACES = ("torch.nn.functional", "torch.nn", "torch.optim", "torch.utils.data", "torch.Tensor",
              "torchvision", "torch")

# Receivers whose attributes are never Tensor attributes (see the module docstring).
NON_TENSOR_RECEIVERS = {"self", "args", "cls", "parser"}

BUILTIN_TYPE_ATTRIBUTES = set().union(*(dir(t) for t in (list, dict, str, set, tuple)))

# torch callables whose result is not a Tensor: ``torch.device("cuda").index`` is no Tensor.index.
NON_TENSOR_FACTORIES = {"torch.device", "torch.dtype", "torch.Generator", "torch.Size",
                        "torch.finfo", "torch.iinfo"}

# Names (or prefixes: "torch.jit" covers "torch.jit.script") ganglion does not provide on purpose,
# with the reason. A used name matching an entry is reported here instead of as missing.
DELIBERATELY_LEFT_OUT = {
    "torch.jit": "TorchScript: ganglion's compiled form is its symbolic graph (ganglion.symbolic "
                 "/ tracing), not a TorchScript IR; scripting Python source is out of scope.",
    "torch.fx": "torch.fx graph rewriting: the symbolic graph is ganglion's graph IR.",
    "torch.compile": "No JIT compiler; the symbolic graph with its optimisation passes is the "
                     "compiled path.",
    "torch.distributed.rpc": "Remote procedure calls: ganglion.distributed has MPI collectives "
                             "and data parallelism only.",
    "torch.multiprocessing": "Hogwild-style shared-memory training: several processes train "
                             "through ganglion.distributed (MPI) instead.",
    "torch.cuda.amp": "Mixed precision/CUDA streams: no CUDA; ganglion runs float32 (or float64) "
                      "on the CPU; torch.cuda.is_available() answers False so programs fall back.",
    "torch.amp": "Automatic mixed precision: CPU float32/float64 only (see torch.cuda.amp).",
    "torch.autocast": "Automatic mixed precision: CPU float32/float64 only (see torch.cuda.amp).",
    "torch.cuda.Stream": "CUDA streams: no CUDA device.",
    "torch.cuda.synchronize": "CUDA streams: no CUDA device (nothing to wait for).",
    "torch.nn.modules": "Internal module paths (torch.nn.modules.linear.Linear): the programs "
                        "use them only to allow-list classes for unpickling a whole saved model, "
                        "which ganglion refuses (no pickle; state_dict only).",
    "torch.serialization.safe_globals": "Allow-lists classes for unpickling whole models: "
                                        "ganglion.load reads state_dicts only, no pickle.",
    "torch.serialization.add_safe_globals": "As torch.serialization.safe_globals.",
    "torch.utils.model_zoo": "Downloads weights over the network: no network.",
    "torch.hub": "Downloads models over the network: no network; the model zoo issue provides "
                 "weights from files.",
    "torch.onnx": "ONNX export belongs to the interop issue.",
    "torch.quantization": "Quantization is out of scope.",
    "torch.ao": "Quantization is out of scope.",
    "torch.sparse": "Sparse tensors are out of scope.",
    "torch.sparse_coo_tensor": "Sparse tensors are out of scope.",
    "torch.spmm": "Sparse tensors are out of scope.",
    "torchvision.datasets.LSUN": ("A 42 GB scene dataset with no offline copy; ImageFolder reads "
                                  "any folder of images."),
    "torch.Tensor.to_sparse": "Sparse tensors are out of scope.",
    "torch.complex64": "Complex dtypes are out of scope.",
    "torch.complex128": "Complex dtypes are out of scope.",
    "torch.cfloat": "Complex dtypes are out of scope.",
    "torch.view_as_complex": "Complex dtypes are out of scope.",
    "torch.Tensor.refine_names": "Named tensors are out of scope.",
    "torch.Tensor.rename": "Named tensors are out of scope.",
    "torch.Tensor.names": "Named tensors are out of scope.",
    "torch.profiler": "Profiling: use ganglion's own timing hooks / cProfile.",
    "torch.utils.tensorboard": "TensorBoard logging: ganglion.viz writes plots instead.",
    "torch.utils.cpp_extension": "C++ extensions: kernels are NumPy/Numba.",
    "torch.mps": "Apple GPUs: one CPU device (torch.backends.mps.is_available() answers False).",
    "torch.xpu": "Intel GPUs: one CPU device.",
    "torch.export": "torch.export graphs: the symbolic graph is ganglion's exported form.",
    "torchvision.ops": "Detection ops (nms, roi_align) are out of scope for now.",
    "torchvision.models.detection": "Detection models are out of scope for now.",
    "torchvision.models.quantization": "Quantization is out of scope.",
}


# Behaviour probes for much-used names whose meaning a name/signature check cannot see: each
# runs with the framework module ``t`` (torch or ganglion) and returns plain Python values; a
# name is "different" when ganglion's values (or exception type) differ from PyTorch's.
def _max_pair(result):
    return result.values.tolist(), result.indices.tolist()


PROBES = {
    "torch.Tensor": lambda t: (t.Tensor([1.0, 2.0]).tolist(), list(t.Tensor(2, 3).shape),
                               t.Tensor(2, 3).requires_grad),
    "torch.LongTensor": lambda t: (t.LongTensor([1, 2]).tolist(),
                                   t.LongTensor([1, 2]).dtype == t.int64),
    "torch.FloatTensor": lambda t: (t.FloatTensor([1, 2]).tolist(),
                                    t.FloatTensor([1, 2]).dtype == t.float32),
    "torch.float": lambda t: t.ones(1, dtype=t.float).dtype == t.float32,
    "torch.long": lambda t: t.ones(1, dtype=t.long).dtype == t.int64,
    "torch.Tensor.size": lambda t: (tuple(t.ones(2, 3).size()), t.ones(2, 3).size(1),
                                    t.ones(2, 3).size(-1)),
    "torch.Tensor.view": lambda t: t.arange(6).view(2, -1).tolist(),
    "torch.Tensor.sum": lambda t: (t.ones(2, 3).sum(dim=0).tolist(),
                                   list(t.ones(2, 3).sum(1, keepdim=True).shape)),
    "torch.Tensor.max": lambda t: _max_pair(t.tensor([[1.0, 3.0], [2.0, 0.0]]).max(1)),
    "torch.max": lambda t: (_max_pair(t.max(t.tensor([[1.0, 3.0], [2.0, 0.0]]), 1)),
                            t.max(t.tensor([1.0, 3.0])).item()),
    "torch.Tensor.argmax": lambda t: t.tensor([[1.0, 3.0], [2.0, 0.0]]).argmax(1).tolist(),
    "torch.Tensor.item": lambda t: t.tensor([2.5]).item(),
    "torch.Tensor.type": lambda t: t.tensor([True, False, True]).type(t.float).sum().item(),
    "torch.Tensor.eq": lambda t: t.tensor([1, 2]).eq(t.tensor([1, 3])).tolist(),
    "torch.Tensor.data": lambda t: (isinstance(t.ones(2, requires_grad=True).data, t.Tensor),
                                    t.ones(2, requires_grad=True).data.requires_grad),
    "torch.Tensor.numpy": lambda t: t.ones(2).numpy().tolist(),
    "torch.Tensor.to": lambda t: (t.ones(2).to("cpu").tolist(),
                                  t.ones(2).to(t.float64).dtype == t.float64),
    "torch.cat": lambda t: t.cat([t.ones(1, 2), t.zeros(1, 2)], dim=0).tolist(),
    "torch.no_grad": lambda t: _no_grad_probe(t),
}


def _no_grad_probe(t):
    x = t.ones(2, requires_grad=True)
    with t.no_grad():
        y = x * 2
    return y.requires_grad, (x * 2).requires_grad


def _run_probe(probe, module):
    try:
        return ("value", probe(module))
    except Exception as error:  # the exception's type is the behaviour compared
        return ("raises", type(error).__name__)


# ----------------------------------------------------------------------------- extraction
class _FileScanner(ast.NodeVisitor):
    """Collects the torch names one parsed file uses, with the keyword names passed to each."""

    def __init__(self, tensor_attributes):
        self.tensor_attributes = tensor_attributes
        self.aliases = {}           # local name -> dotted torch path
        self.other_modules = set()  # local names bound to non-torch imports
        self.used = defaultdict(set)  # dotted name -> keyword names passed to it

    # -- imports
    def visit_Import(self, node):
        for alias in node.names:
            if alias.asname:
                local, target = alias.asname, alias.name
            else:  # `import torch.nn` binds `torch`
                local = target = alias.name.split(".")[0]
            if _is_torch(alias.name):
                self.aliases[local] = target
                self.used[alias.name]  # importing a module is a use of it
            else:
                self.other_modules.add(local)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name
            if _is_torch(module):
                self.aliases[local] = f"{module}.{alias.name}"
                self.used[f"{module}.{alias.name}"]
            else:
                self.other_modules.add(local)

    # -- uses
    def visit_Attribute(self, node):
        dotted = self._resolve(node)
        if dotted is not None:
            self.used[dotted]
            return  # the chain is recorded whole; its inner attributes are prefixes
        self._maybe_tensor_attribute(node)
        self.generic_visit(node)

    def visit_Name(self, node):
        dotted = self.aliases.get(node.id)
        if dotted is not None and isinstance(node.ctx, ast.Load):
            self.used[dotted]

    def visit_Call(self, node):
        keywords = {k.arg for k in node.keywords if k.arg is not None}
        func = node.func
        dotted = self._resolve(func) if isinstance(func, (ast.Attribute, ast.Name)) else None
        if dotted is not None:
            self.used[dotted].update(keywords)
        elif isinstance(func, ast.Attribute) and self._counts_as_tensor_attribute(func):
            self.used[f"torch.Tensor.{func.attr}"].update(keywords)
        self.generic_visit(node)

    def _resolve(self, node):
        """The dotted torch path of a Name/Attribute chain rooted at a torch alias, else None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases:
            return None
        return ".".join([self.aliases[node.id]] + parts[::-1])

    def _counts_as_tensor_attribute(self, node):
        name = node.attr
        if name.startswith("_") or name not in self.tensor_attributes:
            return False
        receiver = node.value
        if isinstance(receiver, ast.Name) and (receiver.id in NON_TENSOR_RECEIVERS
                                               or receiver.id in self.other_modules):
            return False
        if name in BUILTIN_TYPE_ATTRIBUTES:
            return self._rooted_in_torch_call(receiver)
        return True

    def _maybe_tensor_attribute(self, node):
        if self._counts_as_tensor_attribute(node):
            self.used[f"torch.Tensor.{node.attr}"]

    def _rooted_in_torch_call(self, node):
        """True for an expression whose value comes from calling a torch function/method."""
        while True:
            if isinstance(node, ast.Call):
                callee = (self._resolve(node.func)
                          if isinstance(node.func, (ast.Attribute, ast.Name)) else None)
                if callee is not None:
                    return callee not in NON_TENSOR_FACTORIES
                node = node.func
            elif isinstance(node, ast.Attribute):
                node = node.value
            elif isinstance(node, ast.Subscript):
                node = node.value
            else:
                return False


def _is_torch(module_name):
    root = module_name.split(".")[0]
    return root in ("torch", "torchvision")


def tensor_attribute_names():
    """Public attribute names of ``torch.Tensor`` (needs PyTorch)."""
    import torch

    return {name for name in dir(torch.Tensor) if not name.startswith("_")}


def extract(sources, out_path=USAGE_JSON):
    """Scan ``sources`` (list of (repo, folder)) and write the usage JSON; returns the dict."""
    tensor_attributes = tensor_attribute_names()
    programs, unparsable = [], []
    name_programs = defaultdict(list)
    name_keywords = defaultdict(lambda: defaultdict(int))
    for repo, folder in sources:
        folder = Path(folder)
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder).as_posix()
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            except (SyntaxError, UnicodeDecodeError, ValueError) as err:
                unparsable.append({"repo": repo, "path": relative, "error": str(err)})
                continue
            scanner = _FileScanner(tensor_attributes)
            scanner.visit(tree)
            if not scanner.aliases:
                continue  # imports neither torch nor torchvision: not a PyTorch program
            program = f"{repo}:{relative}"
            programs.append({"repo": repo, "path": relative})
            for name, keywords in scanner.used.items():
                name_programs[name].append(program)
                for keyword in keywords:
                    name_keywords[name][keyword] += 1
    names = {
        name: {"programs": len(used_in), "used_in": sorted(used_in),
               "keywords": dict(sorted(name_keywords[name].items()))}
        for name, used_in in sorted(name_programs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    }
    usage = {
        "description": "PyTorch names used by public PyTorch programs; written by "
                       "`python tools/api_coverage.py extract`, read by its check.",
        "programs": programs,
        "unparsable": unparsable,
        "names": names,
    }
    Path(out_path).write_text(json.dumps(usage, indent=1, sort_keys=False) + "\n")
    return usage


# ----------------------------------------------------------------------------- checking
_MISSING = object()


def ganglion_name(torch_name):
    """The ganglion spelling of a PyTorch dotted name."""
    if torch_name == "torchvision" or torch_name.startswith("torchvision."):
        return "ganglion.vision" + torch_name[len("torchvision"):]
    return "ganglion" + torch_name[len("torch"):]


def resolve(dotted):
    """Import/getattr ``dotted`` (``pkg.mod.attr.attr``); returns the object or ``_MISSING``."""
    parts = dotted.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ImportError:
        return _MISSING
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
            continue
        except AttributeError:
            pass
        except Exception:  # a property that raises on the class: the attribute exists
            obj = property()
            continue
        try:
            obj = importlib.import_module(".".join(parts[: i + 1]))
        except ImportError:
            return _MISSING
    return obj


def _resolve_tensor_attribute(name, tensor_class_path, sample_factory):
    """``Tensor.name`` from the class, else from a sample instance (instance attributes)."""
    obj = resolve(f"{tensor_class_path}.{name}")
    if obj is not _MISSING:
        return obj
    try:
        sample = sample_factory()
        return getattr(sample, name)
    except AttributeError:
        return _MISSING
    except Exception:  # exists but raises on this sample (e.g. .item() on a matrix)
        return property()


def kind_of(obj):
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if callable(obj) and not isinstance(obj, (property,)):
        return "callable"
    return "value"


def _kinds_agree(torch_kind, ganglion_kind):
    if torch_kind == ganglion_kind:
        return True
    # A class on one side and a factory function on the other build the same thing when called.
    return {torch_kind, ganglion_kind} == {"class", "callable"}


def parameter_names(obj):
    """(names, takes_any_keyword) of a callable, or None when neither signature nor doc says.

    PyTorch's C functions have no inspectable signature; their docstring's first lines do
    (``sum(dim=None, keepdim=False, dtype=None) -> Tensor``), so those are parsed instead.
    """
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        names = {p.name for p in signature.parameters.values()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        any_keyword = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
        return names, any_keyword
    doc = getattr(obj, "__doc__", None) or ""
    names = set()
    for line in doc.strip().splitlines()[:6]:
        match = re.match(r"\s*[\w.]+\((.*)\)\s*(->|$)", line)
        if not match:
            continue
        for piece in match.group(1).split(","):
            piece = piece.strip().lstrip("*").strip()
            ident = re.match(r"(\w+)", piece)
            if ident:
                names.add(ident.group(1))
    return (names, False) if names else None


def left_out_reason(name):
    for prefix, reason in DELIBERATELY_LEFT_OUT.items():
        if name == prefix or name.startswith(prefix + "."):
            return prefix, reason
    return None


def namespace_of(name):
    for namespace in NAMESPACES:
        if name == namespace or name.startswith(namespace + "."):
            return namespace
    return "other"


def check(usage, torch_available=None):
    """Resolve every used name in ganglion; returns the report as a dict (see ``main``)."""
    import ganglion

    if torch_available is None:
        try:
            import torch  # noqa: F401  (only to compare meanings)
            torch_available = True
        except ImportError:
            torch_available = False

    def ganglion_sample():
        return ganglion.ones(2, 2)

    results = []
    for name, info in usage["names"].items():
        entry = {"name": name, "programs": info["programs"], "used_in": info["used_in"],
                 "namespace": namespace_of(name), "ganglion": ganglion_name(name)}
        left_out = left_out_reason(name)
        if left_out is not None:
            entry.update(status="left_out", reason=left_out[1], entry=left_out[0])
            results.append(entry)
            continue
        if name.startswith("torch.Tensor."):
            ganglion_obj = _resolve_tensor_attribute(name[len("torch.Tensor."):], "ganglion.Tensor",
                                                     ganglion_sample)
        else:
            ganglion_obj = resolve(entry["ganglion"])
        if ganglion_obj is _MISSING:
            entry.update(status="missing", reason=f"{entry['ganglion']} does not exist")
            results.append(entry)
            continue
        problems = []
        if torch_available:
            torch_obj = resolve(name)
            if torch_obj is not _MISSING:
                torch_kind, ganglion_kind = kind_of(torch_obj), kind_of(ganglion_obj)
                if not _kinds_agree(torch_kind, ganglion_kind):
                    problems.append(f"PyTorch's is a {torch_kind}, ganglion's a {ganglion_kind}")
                elif torch_kind in ("class", "callable") and info.get("keywords"):
                    problems.extend(_keyword_problems(torch_obj, ganglion_obj, info["keywords"]))
            if name in PROBES:
                import torch

                expected, got = _run_probe(PROBES[name], torch), _run_probe(PROBES[name], ganglion)
                if expected != got:
                    problems.append(f"behaves differently: PyTorch gives {expected[1]!r}, "
                                    f"ganglion {got[1]!r} (PROBES[{name!r}])")
        if problems:
            entry.update(status="different", reason="; ".join(problems))
        else:
            entry.update(status="present")
        results.append(entry)
    return _summarise(usage, results, torch_available)


def _keyword_problems(torch_obj, ganglion_obj, keywords):
    torch_params = parameter_names(torch_obj)
    ganglion_params = parameter_names(ganglion_obj)
    if ganglion_params is None:
        return []
    ganglion_names, ganglion_any = ganglion_params
    if ganglion_any:
        return []
    wanted = set(keywords)
    if torch_params is not None:
        torch_names, torch_any = torch_params
        if not torch_any:
            # Keywords PyTorch does not have come from a mis-attributed call (e.g. a NumPy
            # array's .sum(axis=0)); they say nothing about ganglion.
            wanted &= torch_names
    refused = sorted(wanted - ganglion_names)
    if refused:
        return [f"does not accept keyword{'s' if len(refused) > 1 else ''} "
                f"{', '.join(refused)} (passed by the programs)"]
    return []


def _summarise(usage, results, torch_available):
    def coverage(entries):
        counted = [e for e in entries if e["status"] != "left_out"]
        present = [e for e in counted if e["status"] == "present"]
        total_weight = sum(e["programs"] for e in counted)
        return {
            "names": len(counted), "present": len(present),
            "name_coverage": len(present) / len(counted) if counted else 1.0,
            "weighted_coverage": (sum(e["programs"] for e in present) / total_weight
                                  if total_weight else 1.0),
            "left_out": len(entries) - len(counted),
        }

    by_namespace = defaultdict(list)
    for entry in results:
        by_namespace[entry["namespace"]].append(entry)
    not_covered = sorted((e for e in results if e["status"] in ("missing", "different")),
                         key=lambda e: (-e["programs"], e["name"]))
    left_out = sorted((e for e in results if e["status"] == "left_out"),
                      key=lambda e: (-e["programs"], e["name"]))
    return {
        "programs_scanned": len(usage["programs"]),
        "torch_compared": torch_available,
        "overall": coverage(results),
        "namespaces": {ns: coverage(by_namespace[ns]) for ns in NAMESPACES if by_namespace[ns]},
        "missing": [{k: e[k] for k in ("name", "programs", "status", "reason", "ganglion")}
                    for e in not_covered],
        "left_out": [{k: e[k] for k in ("name", "programs", "entry", "reason")} for e in left_out],
    }


def format_report(report, missing_only=False):
    lines = []
    if not missing_only:
        lines.append(f"PyTorch API coverage of ganglion over {report['programs_scanned']} programs"
                     + ("" if report["torch_compared"] else
                        " (PyTorch not importable: names checked for existence only)"))
        lines.append(f"{'namespace':<22}{'names':>7}{'present':>9}{'by name':>9}"
                     f"{'by use':>9}{'left out':>10}")
        rows = list(report["namespaces"].items()) + [("overall", report["overall"])]
        for namespace, c in rows:
            lines.append(f"{namespace:<22}{c['names']:>7}{c['present']:>9}"
                         f"{c['name_coverage']:>9.1%}{c['weighted_coverage']:>9.1%}"
                         f"{c['left_out']:>10}")
        lines.append("('by use' weights each name by the number of programs using it)")
        lines.append("")
    lines.append(f"Missing or different ({len(report['missing'])}), most used first:")
    for e in report["missing"]:
        lines.append(f"  {e['programs']:>3}  {e['name']:<45} {e['reason']}")
    if not missing_only:
        lines.append("")
        lines.append("Deliberately left out (used by the programs):")
        for e in report["left_out"]:
            lines.append(f"  {e['programs']:>3}  {e['name']:<45} {e['reason']}")
        lines.append("")
        lines.append("DELIBERATELY_LEFT_OUT table:")
        for prefix, reason in DELIBERATELY_LEFT_OUT.items():
            lines.append(f"  {prefix:<34} {reason}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", default="check", choices=("check", "extract"))
    parser.add_argument("dirs", nargs="*", help="extract: [REPO=]DIR folders to scan")
    parser.add_argument("--usage", default=str(USAGE_JSON), help="the usage JSON (read or written)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--missing", action="store_true", help="print only the missing names")
    args = parser.parse_args(argv)
    if args.command == "extract":
        if not args.dirs:
            parser.error("extract needs at least one folder")
        sources = []
        for spec in args.dirs:
            repo, sep, folder = spec.partition("=")
            if not sep:
                repo, folder = Path(spec).name, spec
            if not Path(folder).is_dir():
                parser.error(f"extract: {folder} is not a folder")
            sources.append((repo, folder))
        usage = extract(sources, args.usage)
        print(f"wrote {args.usage}: {len(usage['names'])} names from {len(usage['programs'])} "
              f"programs ({len(usage['unparsable'])} files did not parse)")
        return 0
    if args.dirs:
        parser.error("check takes no folders (did you mean `extract`?)")
    usage = json.loads(Path(args.usage).read_text())
    report = check(usage)
    if args.json:
        if args.missing:
            report = {"missing": report["missing"]}
        print(json.dumps(report, indent=1))
    else:
        print(format_report(report, missing_only=args.missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
