"""The same edge inputs through all four front ends (TF, numpy, JAX, PyTorch): each answers as lrn_op._coercion.COERCION
says (docs/guides/front_ends.md: "What each front end accepts"), with the same error type and text. Each front end
runs in a process of its own (front_end_cases.py), so that an input that ends the process fails its case instead of
the test run."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import bounds
import reference
from edge_cases import CASES, FLUSHING_THREADS, FRONT_ENDS, TF_NAMES
from lrn_op import _coercion, _simd

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE_PAGE = os.path.join(os.path.dirname(HERE), "docs", "guides", "front_ends.md")


def run_cases(front_end, names=(), simd=None):
    """({case: outcome}, {"simd_path", "warnings"}) of front_end_cases.py, with LRN_OP_SIMD=simd (unset if None);
    a case that started and never ended says how the process ended."""
    env = {key: value for key, value in os.environ.items() if key != "LRN_OP_SIMD"}
    if simd is not None:
        env["LRN_OP_SIMD"] = simd
    result = subprocess.run([sys.executable, os.path.join(HERE, "front_end_cases.py"), front_end, *names],
                            capture_output=True, text=True, timeout=600, cwd=tempfile.gettempdir(), env=env)
    outcomes, extra = {}, {}
    for line in result.stdout.splitlines():
        record = json.loads(line)
        if "case" in record:
            outcomes[record.pop("case")] = record
        else:
            extra = record
    for name, outcome in outcomes.items():
        if outcome.get("running"):
            outcomes[name] = {"died": f"the process ended with code {result.returncode} during this case:\n"
                                      f"{result.stderr[-3000:]}"}
    assert result.returncode == 0 or any("died" in o for o in outcomes.values()), result.stderr[-3000:]
    return outcomes, extra


class Outcomes(dict):
    """{front end: {case: outcome}}, each front end run once, when a test first asks for it."""

    def __missing__(self, front_end):
        self[front_end] = run_cases(front_end)[0]
        return self[front_end]


@pytest.fixture(scope="module")
def outcomes():
    return Outcomes()


def tf_names(message):
    """A TF message in the other front ends' argument names (input_image is x, ...)."""
    for tf_name, name in sorted(TF_NAMES.items(), key=lambda item: -len(item[0])):
        message = message.replace(tf_name, name)
    return message


def expected_values(case):
    """The float64 reference for a case that computes."""
    x = np.asarray(case.x, np.float64)
    if case.norm is not None:  # channels at axis 1
        size = case.norm["size"]
        before, after = (reference.torch_window if case.norm["convention"] == "torch" else reference.onnx_window)(size)
        y = reference.lrn(np.moveaxis(x, 1, -1), before, case.norm["k"], case.norm["alpha"] / size,
                          case.norm["beta"], after=after)
        return np.moveaxis(y, -1, 1)
    nhwc = case.data_format == "NHWC"
    to_nhwc = (lambda a: a) if nhwc else (lambda a: np.moveaxis(a, 1, -1))
    back = (lambda a: a) if nhwc else (lambda a: np.moveaxis(a, -1, 1))
    ref = dict(radius=case.params["depth_radius"], bias=case.params["bias"], alpha=case.params["alpha"],
               beta=case.params["beta"])
    if case.dy is None:
        return back(reference.lrn(to_nhwc(x), **ref))
    return back(reference.lrn_grad(to_nhwc(np.asarray(case.dy, np.float64)), to_nhwc(x), **ref))


def expected_dtype(case):
    return "float32" if isinstance(case.x, list) or np.asarray(case.x).dtype.kind in "biu" else \
        np.asarray(case.x).dtype.name


CASE_IDS = [(front_end, name) for name, case in CASES.items() for front_end in case.front_ends]


@pytest.mark.parametrize("front_end,name", CASE_IDS, ids=[f"{f}-{n}" for f, n in CASE_IDS])
def test_each_front_end_answers_as_the_table_says(outcomes, front_end, name):
    case = CASES[name]
    outcome = outcomes[front_end].get(name)
    assert outcome is not None, f"{name} never ran: an earlier case ended the process"
    assert "died" not in outcome, outcome["died"]
    if case.error:
        kind, message = case.error.split(": ", 1)
        assert "raised" in outcome, f"returned {outcome} where the table says {case.error}"
        got = outcome["message"] if front_end != "tensorflow" else tf_names(outcome["message"])
        assert (outcome["raised"], got) == (kind, message)
        return
    assert "raised" not in outcome, f"{outcome['raised']}: {outcome['message']}"
    shape = list(np.shape(np.asarray(case.x)))
    assert (outcome["shape"], outcome["dtype"], outcome["native"]) == (shape, expected_dtype(case), True)
    if 0 in shape:
        return
    if case.flush_to_zero is not None:
        # Every element the same bits, whichever thread computed it: the subnormal nearest 1e-40, or zero where the
        # threads that ran the kernel flush.
        flushed = case.flush_to_zero or front_end in FLUSHING_THREADS
        expected = 0.0 if flushed else float(np.float32(expected_values(case).flat[0]))
        assert outcome["distinct"] == [expected]
        return
    actual, expected = np.array(outcome["values"], np.float64), expected_values(case)
    # A NaN reaches exactly the outputs whose window holds it, an Inf makes its own output NaN and its neighbours'
    # 0, as in the float64 reference; everything else is finite.
    nonfinite = ~np.isfinite(expected)
    np.testing.assert_array_equal(~np.isfinite(actual), nonfinite)
    actual, expected = actual[~nonfinite], expected[~nonfinite]
    check = bounds.assert_forward if case.dy is None else bounds.assert_gradient
    check(actual, expected, outcome["dtype"])


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_an_unknown_simd_path_is_told_once_and_the_best_path_runs(front_end):
    computing = ["float32", "float32 gradient NCHW"]
    outcomes, extra = run_cases(front_end, computing, simd="bogus")
    assert list(outcomes) == computing and all("values" in o for o in outcomes.values()), outcomes
    best = run_cases(front_end, computing[:1])[1]["simd_path"]
    assert extra["simd_path"] == best
    simd_warnings = [w for w in extra["warnings"] if "LRN_OP_SIMD" in w]
    assert simd_warnings == [f"RuntimeWarning: LRN_OP_SIMD='bogus' names no SIMD path (the paths are "
                             f"{', '.join(_simd.SIMD_PATHS)}): lrn_op runs the {best} path"]


def test_the_docs_table_is_the_coercion_table():
    with open(TABLE_PAGE) as f:
        rows = {tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
                for line in f if line.startswith("| ")}
    missing = [row for row in _coercion.COERCION if row not in rows]
    assert not missing, f"docs/guides/front_ends.md lacks these rows of _coercion.COERCION: {missing}"
