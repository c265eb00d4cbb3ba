"""The shared form of the bad-input tables: each row is one wrong call, the exception it must
raise, and the words its message must contain (the op or file, the offending shape or value, what
was expected), so a user can fix the call without reading ganglion's source.

A test file lists its rows and hands them to ``bad_input_test``::

    CASES = [BadInput("zeros negative size", lambda: gn.zeros(-1), ValueError, ["zeros", "-1"])]
    test_bad_input = bad_input_test(CASES)

Every such test is named ``test_bad_input[<row id>]``, so
``pytest --collect-only -q tests | grep -c 'test_bad_input\\['`` counts the rows the suite tries.
A row may also give ``unchanged``: a function returning a snapshot of the state the failed call
must not have touched (compared with ``==`` after NumPy arrays are turned into lists).
"""
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pytest


@dataclass(frozen=True)
class BadInput:
    id: str
    call: Callable[[], object]
    error: type
    words: Sequence[str] = ()
    unchanged: Callable[[], object] | None = field(default=None)


def _comparable(value):
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tolist())
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def check_bad_input(case):
    before = _comparable(case.unchanged()) if case.unchanged else None
    with pytest.raises(case.error) as info:
        case.call()
    message = str(info.value)
    missing = [w for w in case.words if w.lower() not in message.lower()]
    assert not missing, f"{case.id}: message {message!r} lacks {missing}"
    if case.unchanged:
        assert _comparable(case.unchanged()) == before, f"{case.id}: the failed call changed state"
    return message


def bad_input_test(cases):
    """A parametrized test over ``cases`` (ids must be unique within the file)."""
    ids = [c.id for c in cases]
    duplicated = {i for i in ids if ids.count(i) > 1}
    assert not duplicated, f"duplicate bad-input ids: {sorted(duplicated)}"

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_bad_input(case):
        check_bad_input(case)

    return test_bad_input


def same_exception_as_torch_test(cases, torch_calls):
    """A parametrized test over the ids in ``torch_calls`` ({row id: the same call in PyTorch}):
    PyTorch raises, and ganglion's row raises an instance of PyTorch's exception type, so code
    ported with its ``except`` clauses still catches it."""
    rows = {case.id: case for case in cases}
    unknown = sorted(set(torch_calls) - set(rows))
    assert not unknown, f"PyTorch twins of rows that do not exist: {unknown}"

    @pytest.mark.parametrize("row", sorted(torch_calls))
    def test_same_exception_type_as_pytorch(row):
        with pytest.raises(Exception) as torch_info:
            torch_calls[row]()
        with pytest.raises(Exception) as ours:
            rows[row].call()
        assert isinstance(ours.value, torch_info.type), (
            f"{row}: PyTorch raises {torch_info.type.__name__}, ganglion {type(ours.value).__name__}")

    return test_same_exception_type_as_pytorch
