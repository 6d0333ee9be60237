"""The backends table of `python -m lrn_op.bench --backends`: lrn_op's kernels under JAX and PyTorch against what
those frameworks offer for LRN, each backend in a process of its own (`--backend NAME`), which needs no TensorFlow.

  jax    lrn_op.jax under jax.jit, against the same math as a keras.ops composite under jax.jit (JAX has no LRN),
         NHWC (Keras's channels_last); copy: jnp.copy under jax.jit.
  torch  lrn_op.torch against torch.nn.LocalResponseNorm with the matching parameters (lrn_op.convert.from_torch
         read the other way round), NCHW, PyTorch's layout: once contiguous (PyTorch's default), once stored
         channels_last (torch.channels_last), which lrn_op reads as NHWC; copy: Tensor.clone.
  torch-replaced  torch.nn.LocalResponseNorm itself after lrn_op.torch.replace_builtin(), against PyTorch's own
         code for it, in a process of its own (the replacement lasts for the process): what a model that holds
         nn.LocalResponseNorm gains without an edit.

Forward+backward is the gradient of sum(y * dy) with respect to x: forward, then the backward pass.
"""
import statistics

import numpy as np

from lrn_op.bench.cases import CASES
from lrn_op.bench.timing import interleaved_samples, layout

CASE_NAMES = ("AlexNet LRN1", "TF defaults")
# The rows of each backend's process: (label, what lrn_op is timed against, memory format).
ROWS = {"jax": [("jax", "keras.ops composite, jax.jit", None)],
        "torch": [("torch", "torch.nn.LocalResponseNorm", "contiguous_format"),
                  ("torch channels_last", "torch.nn.LocalResponseNorm", "channels_last")],
        "torch-replaced": [("nn.LocalResponseNorm after replace_builtin()", "PyTorch's own", "contiguous_format")]}


def keras_composite(t, depth_radius, bias, alpha, beta):
    """The same LRN in keras.ops (NHWC): the window sum as shifted slices of the zero-padded squares."""
    import keras

    r = depth_radius
    squares = keras.ops.pad(keras.ops.square(t), [[0, 0], [0, 0], [0, 0], [r, r]])
    window = sum(squares[..., k:k + t.shape[-1]] for k in range(2 * r + 1))
    return t * keras.ops.power(bias + alpha * window, -beta)


def torch_module(depth_radius, bias, alpha, beta):
    """torch.nn.LocalResponseNorm computing lrn_op's LRN: lrn_op.convert.from_torch read the other way round."""
    import torch

    size = 2 * depth_radius + 1
    return torch.nn.LocalResponseNorm(size, alpha=alpha * size, beta=beta, k=bias)


def _jax_variants(case, x, dy, memory_format):
    import jax
    import jax.numpy as jnp

    import lrn_op.jax

    params = case.params()

    def composite(t):
        return keras_composite(t, **params)

    def ours(t):
        return lrn_op.jax.local_response_normalization(t, **params)

    def forward_backward(fn):
        return jax.jit(lambda t, g: jax.vjp(fn, t)[1](g)[0])

    x, dy = jnp.asarray(x), jnp.asarray(dy)
    calls = {"ours_fwd": (jax.jit(ours), (x,)), "theirs_fwd": (jax.jit(composite), (x,)),
             "ours_fwdbwd": (forward_backward(ours), (x, dy)),
             "theirs_fwdbwd": (forward_backward(composite), (x, dy)), "copy": (jax.jit(jnp.copy), (x,))}
    return {key: (lambda fn=fn, args=args: fn(*args).block_until_ready()) for key, (fn, args) in calls.items()}


def _torch_variants(case, x, dy, memory_format, pytorchs_own=None):
    """pytorchs_own: PyTorch's own LRN, kept before lrn_op.torch.replace_builtin(), when this process has made the
    replacement: lrn_op's columns are then nn.LocalResponseNorm itself."""
    import torch

    import lrn_op.torch

    params = case.params()
    module = torch_module(**params)
    replaced = pytorchs_own is not None
    memory_format = getattr(torch, memory_format)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).contiguous(memory_format=memory_format)
    dy = torch.from_numpy(np.ascontiguousarray(dy.transpose(0, 3, 1, 2))).contiguous(memory_format=memory_format)

    def ours(t):
        if replaced:
            return module(t)
        return lrn_op.torch.local_response_normalization(t, **params, data_format="NCHW")

    def theirs(t):
        if replaced:
            return pytorchs_own(t, module.size, module.alpha, module.beta, module.k)
        return module(t)

    def forward_backward(fn):
        def run():
            t = x.detach().requires_grad_(True)
            return torch.autograd.grad(fn(t), t, dy)[0]
        return run

    # x needs no gradient, so the forward columns record no autograd graph.
    return {"ours_fwd": lambda: ours(x), "theirs_fwd": lambda: theirs(x), "copy": lambda: x.clone(),
            "ours_fwdbwd": forward_backward(ours), "theirs_fwdbwd": forward_backward(theirs)}


def measure(backend, cases, runs, warmup):
    """{row label: {case name: {column: [median, min, max]}}} for one backend's rows, in this process."""
    results = {}
    pytorchs_own = None
    if backend == "torch-replaced":
        import torch

        import lrn_op.torch

        pytorchs_own = torch.nn.functional.local_response_norm
        lrn_op.torch.replace_builtin()
    for label, _, memory_format in ROWS[backend]:
        for case in cases:
            rng = np.random.default_rng(0)
            x = rng.standard_normal(case.shape).astype(np.float32)
            dy = rng.standard_normal(case.shape).astype(np.float32)
            if backend == "jax":
                variants = _jax_variants(case, x, dy, memory_format)
            else:
                variants = _torch_variants(case, x, dy, memory_format, pytorchs_own)
            samples = interleaved_samples(variants, runs, warmup)
            results.setdefault(label, {})[case.name] = {key: [statistics.median(v), min(v), max(v)]
                                                        for key, v in samples.items()}
    return results


def format_table(results):
    """results: {row label: {case name: {column: [median, min, max]}}}, with the cases' shapes."""
    shapes = {case.name: "x".join(map(str, case.shape)) for case in CASES}
    lines = [["backend", "case", "shape", "copy ms", "lrn_op fwd ms", "theirs fwd ms", "fwd vs theirs",
              "fwd/copy", "lrn_op fwd+bwd ms", "theirs fwd+bwd ms", "fwd+bwd vs theirs", "fwd+bwd/3 copies"]]

    def timing(ms):
        return f"{ms[0]:.2f} [{ms[1]:.2f}-{ms[2]:.2f}]"

    theirs = {label: against for rows in ROWS.values() for label, against, _ in rows}
    for label, cases in results.items():
        for name, ms in cases.items():
            lines.append([f"{label} (vs {theirs[label]})", name, shapes[name], timing(ms["copy"]),
                          timing(ms["ours_fwd"]), timing(ms["theirs_fwd"]),
                          f"{ms['theirs_fwd'][0] / ms['ours_fwd'][0]:.1f}x",
                          f"{ms['ours_fwd'][0] / ms['copy'][0]:.2f}", timing(ms["ours_fwdbwd"]),
                          timing(ms["theirs_fwdbwd"]), f"{ms['theirs_fwdbwd'][0] / ms['ours_fwdbwd'][0]:.1f}x",
                          f"{ms['ours_fwdbwd'][0] / (3 * ms['copy'][0]):.2f}"])
    return layout(lines)
