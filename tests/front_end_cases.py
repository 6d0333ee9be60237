"""Runs tests/edge_cases.py's cases through one front end, in a process of its own, so that an input that ended the
process fails its test instead of the test run: `python front_end_cases.py FRONT_END [CASE...]`. Prints one JSON
line per case as soon as it ends: what it returned (shape, dtype and values, which are small) or what it raised;
then the SIMD path that ran and the warnings raised."""
import json
import sys
import warnings
from dataclasses import replace

import numpy as np

FRONT_END = sys.argv[1]
if FRONT_END != "tensorflow":
    sys.modules["tensorflow"] = None  # the other front ends must not need it

from edge_cases import CASES, FRONT_ENDS  # noqa: E402
from fp_mode import set_flush_to_zero  # noqa: E402

assert FRONT_END in FRONT_ENDS, FRONT_END


def front_end():
    """(module, to_native, to_numpy, simd_path) of the front end under test."""
    if FRONT_END == "tensorflow":
        import tensorflow as tf

        import lrn_op
        import lrn_op.numpy

        return lrn_op, tf.convert_to_tensor, lambda t: t.numpy(), lrn_op.numpy.simd_path
    if FRONT_END == "numpy":
        import lrn_op.numpy

        return lrn_op.numpy, np.asarray, np.asarray, lrn_op.numpy.simd_path
    if FRONT_END == "jax":
        import jax.numpy as jnp

        import lrn_op.jax

        return lrn_op.jax, jnp.asarray, np.asarray, lrn_op.jax.simd_path
    import torch

    import lrn_op.torch

    def to_torch(array, device="cpu"):
        return torch.from_numpy(array).to(device)

    return lrn_op.torch, to_torch, lambda t: t.detach().numpy(), lrn_op.torch.simd_path


def native(value, to_native):
    """A case's value as the front end's user would hand it over: ("tensor", array) and ("meta", array) become a
    tensor of the front end, a numpy array stays one (host data), lists stay lists."""
    if isinstance(value, tuple):
        kind, array = value
        return to_native(array, "meta") if kind == "meta" else to_native(array)
    return value


def run(case, module, to_native, to_numpy):
    if case.flush_to_zero is not None:
        set_flush_to_zero(case.flush_to_zero)
        try:
            return run(replace(case, flush_to_zero=None), module, to_native, to_numpy)
        finally:
            set_flush_to_zero(False)
    x = native(case.x, to_native)
    if case.norm is not None:
        norm = dict(case.norm)
        if FRONT_END == "torch":  # PyTorch's own convention, by its own signature
            assert norm.pop("convention") == "torch"
        return to_numpy(module.local_response_norm(x, **norm))
    params = dict(case.params, data_format=case.data_format)
    if case.dy is None:
        return to_numpy(module.local_response_normalization(x, **params))
    if case.y is None:
        y = module.local_response_normalization(x, **params)
    else:
        y = native(case.y, to_native)
    return to_numpy(module.local_response_normalization_grad(native(case.dy, to_native), x, y, **params))


def main():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module, to_native, to_numpy, simd_path = front_end()
        names = sys.argv[2:] or [name for name, case in CASES.items() if FRONT_END in case.front_ends]
        for name in names:
            print(json.dumps({"case": name, "running": True}), flush=True)
            try:
                result = run(CASES[name], module, to_native, to_numpy)
            except Exception as error:  # noqa: BLE001 - what was raised is the result
                outcome = {"raised": type(error).__name__, "message": str(error)}
            else:
                outcome = {"shape": list(result.shape), "dtype": result.dtype.name, "native": result.dtype.isnative,
                           "values": np.asarray(result, np.float64).tolist() if result.size <= 4096 else None,
                           "distinct": np.unique(np.asarray(result, np.float64))[:4].tolist()}
            print(json.dumps({"case": name, **outcome}), flush=True)
    print(json.dumps({"simd_path": simd_path(),
                      "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}), flush=True)


main()
