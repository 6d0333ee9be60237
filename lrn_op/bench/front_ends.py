"""The front-end table of `python -m lrn_op.bench --front-ends`: lrn_op.numpy and lrn_op.torch on small tensors and
batch 1, where a call's fixed costs weigh most (argument checks, conversions, waking the pool's threads), and on one
large tensor, where they do not. Each is set against a copy of the same array in the same framework (np.copyto into
a preallocated array, Tensor.clone), the memory floor. Then the batch-1 shapes on one thread and on all of them: what
the pool gains on a small call. Last, the floor of a call: a 1x1x1x8 tensor through every front end installed
(TensorFlow's and JAX's too, if they are), against the same framework's copy. Needs no TensorFlow."""
import importlib.util
import statistics

import numpy as np

from lrn_op.bench.cases import FRONT_END_CASES
from lrn_op.bench.timing import interleaved_samples, layout


def _numpy_variants(case, x, dy):
    import lrn_op.numpy as front_end

    params = case.params()
    y = front_end.local_response_normalization(x, **params)
    floor = np.empty_like(x)
    return {"fwd": lambda: front_end.local_response_normalization(x, **params),
            "bwd": lambda: front_end.local_response_normalization_grad(dy, x, y, **params),
            "copy": lambda: np.copyto(floor, x)}


def _torch_variants(case, x, dy):
    import torch

    import lrn_op.torch as front_end

    params = case.params()
    x, dy = torch.from_numpy(x), torch.from_numpy(dy)
    y = front_end.local_response_normalization(x, **params)
    return {"fwd": lambda: front_end.local_response_normalization(x, **params),
            "bwd": lambda: front_end.local_response_normalization_grad(dy, x, y, **params),
            "copy": lambda: x.clone()}


def measure(front_ends, runs, warmup):
    """{front end: {case name: {column: [median, min, max]}}} in microseconds."""
    results = {}
    for name in front_ends:
        variants_of = {"numpy": _numpy_variants, "torch": _torch_variants}[name]
        for case in FRONT_END_CASES:
            rng = np.random.default_rng(0)
            x = rng.standard_normal(case.shape).astype(np.float32)
            dy = rng.standard_normal(case.shape).astype(np.float32)
            samples = interleaved_samples(variants_of(case, x, dy), runs, warmup)
            results.setdefault(name, {})[case.name] = {key: [1e3 * statistics.median(v), 1e3 * min(v), 1e3 * max(v)]
                                                       for key, v in samples.items()}
    return results


def format_table(results):
    shapes = {case.name: "x".join(map(str, case.shape)) for case in FRONT_END_CASES}
    lines = [["front end", "case", "shape", "copy us", "forward us", "forward/copy", "gradient us", "gradient/copy"]]

    def timing(us):
        return f"{us[0]:.1f} [{us[1]:.1f}-{us[2]:.1f}]"

    for name, cases in results.items():
        for case, us in cases.items():
            lines.append([f"lrn_op.{name}", case, shapes[case], timing(us["copy"]), timing(us["fwd"]),
                          f"{us['fwd'][0] / us['copy'][0]:.2f}", timing(us["bwd"]),
                          f"{us['bwd'][0] / us['copy'][0]:.2f}"])
    return layout(lines)


# The batch-1 shapes of the peers table, NHWC, AlexNet's and GoogLeNet's parameters.
SCALING_SHAPES = {"AlexNet LRN1 b1": (1, 55, 55, 96), "AlexNet LRN2 b1": (1, 27, 27, 256), "GoogLeNet b1": (1, 56, 56, 192)}


def measure_scaling(runs, warmup, calls_per_sample=20):
    """{(shape name, layout): {threads: [median, min, max] ms}}: lrn_op's forward into out= on one thread and on every
    CPU the process may use, NHWC and NCHW, through the numpy module, interleaved: what splitting a small call over
    the pool gains after the pool's wake-up and split costs."""
    from lrn_op import _lrn_numpy

    params = _lrn_numpy.Params(2, 2, 2.0, 2e-5, 0.75)
    every = _lrn_numpy.allowed_cpus()
    results = {}
    for name, shape in SCALING_SHAPES.items():
        for data_format in ("NHWC", "NCHW"):
            x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            if data_format == "NCHW":
                x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            out = np.empty_like(x)

            def timed(threads, x=x, out=out, channels_first=data_format == "NCHW"):
                def run():
                    for _ in range(calls_per_sample):
                        _lrn_numpy.forward(x, out, params, channels_first, threads)
                return run

            samples = interleaved_samples({1: timed(1), every: timed(every)}, runs, warmup)
            results[name, data_format] = {
                threads: [statistics.median(v) / calls_per_sample, min(v) / calls_per_sample,
                          max(v) / calls_per_sample] for threads, v in samples.items()}
    return results


def format_scaling_table(results):
    lines = [["case", "layout", "shape NHWC", "1 thread ms", "all threads ms", "speed-up"]]
    for (name, data_format), by_threads in results.items():
        (one, every) = (by_threads[key] for key in sorted(by_threads))
        lines.append([name, data_format, "x".join(map(str, SCALING_SHAPES[name])),
                      f"{one[0]:.3f} [{one[1]:.3f}-{one[2]:.3f}]",
                      f"{every[0]:.3f} [{every[1]:.3f}-{every[2]:.3f}]", f"{one[0] / every[0]:.2f}x"])
    return layout(lines)


# The smallest call: one pixel of 8 channels, where nothing but a call's fixed costs remains; each sample is the
# mean of calls back to back for FLOOR_MIN_MS, since one call is within a few times the timer's own cost.
FLOOR_SHAPE = (1, 1, 1, 8)
FLOOR_PARAMS = dict(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
FLOOR_MIN_MS = 2.0


def floor_calls(name, x):
    """{"lrn_op": lrn_op's forward, "copy": the framework's own copy, "own LRN": the framework's own LRN where it has
    one} for one front end, as zero-argument callables that return the result once it exists."""
    params = FLOOR_PARAMS
    if name == "numpy":
        import lrn_op.numpy

        out = np.empty_like(x)
        return {"lrn_op": lambda: lrn_op.numpy.local_response_normalization(x, **params),
                "copy": lambda: np.copyto(out, x)}
    if name == "torch":
        import torch

        import lrn_op.torch

        t = torch.from_numpy(x)
        channels_first = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        size = 2 * params["depth_radius"] + 1
        return {"lrn_op": lambda: lrn_op.torch.local_response_normalization(t, **params), "copy": t.clone,
                "own LRN": lambda: torch.nn.functional.local_response_norm(
                    channels_first, size, params["alpha"] * size, params["beta"], params["bias"]).permute(0, 2, 3, 1)}
    if name == "tensorflow":
        import tensorflow as tf

        import lrn_op

        t = tf.constant(x)
        return {"lrn_op": lambda: lrn_op.local_response_normalization(t, **params),
                "copy": lambda: tf.raw_ops.DeepCopy(x=t),
                "own LRN": lambda: tf.nn.local_response_normalization(t, **params)}
    import jax
    import jax.numpy as jnp

    import lrn_op.jax

    a = jnp.asarray(x)
    forward = jax.jit(lambda v: lrn_op.jax.local_response_normalization(v, **params))
    copy = jax.jit(jnp.copy)
    return {"lrn_op": lambda: forward(a).block_until_ready(), "copy": lambda: copy(a).block_until_ready()}


FLOOR_FRONT_ENDS = {"numpy": "lrn_op.numpy", "torch": "lrn_op.torch", "tensorflow": "lrn_op (TF op, eager)",
                    "jax": "lrn_op.jax (jax.jit)"}
# What "own LRN" is in each framework that has one.
OWN_LRN = {"torch": "F.local_response_norm", "tensorflow": "tf.nn.local_response_normalization"}


def measure_call_floor(runs, warmup):
    """{front end: {"lrn_op" | "copy" | "own LRN": [median, min, max]}} in microseconds: the forward of a
    FLOOR_SHAPE tensor through each installed front end, the framework's own copy and its own LRN, each sample the
    mean of calls back to back."""
    x = np.random.default_rng(0).standard_normal(FLOOR_SHAPE).astype(np.float32)
    results = {}
    for name in FLOOR_FRONT_ENDS:
        if importlib.util.find_spec(name) is None:
            continue
        samples = interleaved_samples(floor_calls(name, x), runs, warmup, min_ms=FLOOR_MIN_MS)
        results[name] = {key: [1e3 * statistics.median(v), 1e3 * min(v), 1e3 * max(v)] for key, v in samples.items()}
    return results


def format_floor_table(results):
    def timing(us):
        return f"{us[0]:.1f} [{us[1]:.1f}-{us[2]:.1f}]"

    lines = [["front end", "copy us", "forward us", "forward - copy us", "the framework's own LRN", "its us"]]
    for name, us in results.items():
        own = us.get("own LRN")
        lines.append([FLOOR_FRONT_ENDS[name], timing(us["copy"]), timing(us["lrn_op"]),
                      f"{us['lrn_op'][0] - us['copy'][0]:.1f}", OWN_LRN.get(name, "none"),
                      timing(own) if own else "-"])
    return layout(lines)
