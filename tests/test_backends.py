"""The Keras layer under the tensorflow, jax and torch backends, each in a process of its own
(tests/backend_checks.py), and the JAX and PyTorch front ends directly."""
import json
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import bounds
import reference
from conftest import run_python

# Every Keras backend, unless LRN_OP_TEST_BACKENDS names fewer: noxfile.py does on the Pythons for which these
# machines have no CPU build of PyTorch.
BACKENDS = tuple(os.environ.get("LRN_OP_TEST_BACKENDS", "tensorflow,jax,torch").split(","))
CHECKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend_checks.py")


def checks(backend, workdir, mode):
    # Run as a script, from outside the source tree: its own directory (tests/) comes first on sys.path.
    result = subprocess.run([sys.executable, CHECKS, backend, workdir, mode], capture_output=True, text=True,
                            timeout=600, cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Trains the same model under each backend, then loads every saved file under every backend."""
    workdir = str(tmp_path_factory.mktemp("backends"))
    runs = {backend: checks(backend, workdir, "train") for backend in BACKENDS}
    loaded = {backend: checks(backend, workdir, "load") for backend in BACKENDS}
    return workdir, runs, loaded


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_layer_trains_under_every_backend(trained, backend):
    _, runs, _ = trained
    run = runs[backend]
    assert run["moved"] > 1e-2, "an epoch of training left the predictions where they were"
    assert run["layer_error"] <= bounds.FORWARD["float32"]
    # Only the tensorflow backend imports TensorFlow (the others run with any import of it failing).
    assert run["tensorflow_imported"] == (backend == "tensorflow")


@pytest.mark.slow
def test_the_backends_predict_the_same_after_training(trained):
    workdir, _, _ = trained
    predictions = {backend: np.load(os.path.join(workdir, f"predictions-{backend}.npy")) for backend in BACKENDS}
    for backend in BACKENDS[1:]:
        assert bounds.gradient_error(predictions[backend], predictions["tensorflow"]) <= bounds.ACROSS_BACKENDS


@pytest.mark.slow
@pytest.mark.parametrize("source", BACKENDS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_keras_file_saved_under_one_backend_loads_under_another(trained, backend, source):
    workdir, _, loaded = trained
    assert loaded[backend] == {name: True for name in BACKENDS}
    saved = np.load(os.path.join(workdir, f"predictions-{source}.npy"))
    predicted = np.load(os.path.join(workdir, f"loaded-{backend}-{source}.npy"))
    assert bounds.gradient_error(predicted, saved) <= bounds.ACROSS_BACKENDS


@pytest.fixture(scope="module")
def compiled_checks(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("kernels"))
    return {backend: checks(backend, workdir, "kernels") for backend in BACKENDS}


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_layer_is_within_the_bounds_for_every_dtype_and_format(compiled_checks, backend):
    errors = compiled_checks[backend]["errors"]
    assert len(errors) == 8
    for case, error in errors.items():
        dtype = case.split()[1]
        assert error["dtype"] == f"{dtype} {dtype}", case
        assert error["forward"] <= bounds.FORWARD[dtype], case
        assert error["gradient"] <= bounds.GRADIENT[dtype], case


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_layer_runs_lrn_ops_kernels(compiled_checks, backend):
    """jax.jit, torch.compile and tf.function all run the kernels: the result is bit for bit the numpy front
    end's, and a NaN reaches only the channels whose windows hold it."""
    result = compiled_checks[backend]
    assert result["bit_identical"]
    assert result["nan_channels"] == [6, 7, 8, 9, 10]
    assert result["nan_elsewhere"] == 0
    assert result["tensorflow_imported"] == (backend == "tensorflow")


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_portable_is_tensorflows_op_under_tensorflow_and_lrn_ops_kernels_elsewhere(compiled_checks, backend):
    # TF's own kernel spreads a NaN over its whole pixel (its band-matrix product); lrn_op's keeps it in the window.
    expected = list(range(16)) if backend == "tensorflow" else [6, 7, 8, 9, 10]
    assert compiled_checks[backend]["portable_nan_channels"] == expected


# The front ends directly, in this process: JAX's and PyTorch's own arrays in and out.

def _case(rng, dtype=np.float32):
    x = rng.standard_normal((2, 3, 4, 9)).astype(dtype)
    return x, dict(depth_radius=2, bias=1.5, alpha=0.3, beta=0.6), dict(radius=2, bias=1.5, alpha=0.3, beta=0.6)


def test_jax_grad_jit_and_vmap(rng):
    import jax
    import jax.numpy as jnp

    import lrn_op.jax

    x, params, ref = _case(rng)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y = jax.jit(lambda t: lrn_op.jax.local_response_normalization(t, **params))(x)
    assert isinstance(y, jax.Array)
    bounds.assert_forward(np.asarray(y), reference.lrn(x, **ref))
    dx = jax.jit(jax.grad(lambda t: jnp.sum(lrn_op.jax.local_response_normalization(t, **params) * dy)))(x)
    bounds.assert_gradient(np.asarray(dx), reference.lrn_grad(dy, x, **ref, y=np.asarray(y)))
    stack = np.stack([x, 3 * x, -x])
    batched = jax.vmap(lambda t: lrn_op.jax.local_response_normalization(t, **params))(stack)
    for k in range(3):
        bounds.assert_forward(np.asarray(batched[k]), reference.lrn(stack[k], **ref))
    # The explicit gradient function, against the reference.
    explicit = lrn_op.jax.local_response_normalization_grad(dy, x, y, **params)
    bounds.assert_gradient(np.asarray(explicit), reference.lrn_grad(dy, x, **ref, y=np.asarray(y)))


def test_jax_vmap_of_the_gradient_and_of_nchw(rng):
    import jax
    import jax.numpy as jnp

    import lrn_op.jax

    x, params, ref = _case(rng)
    stack = np.stack([x, 3 * x, -x])
    dys = rng.standard_normal(stack.shape).astype(np.float32)

    def gradient(t, dy):
        return jax.grad(lambda u: jnp.sum(lrn_op.jax.local_response_normalization(u, **params) * dy))(t)

    batched = jax.jit(jax.vmap(gradient))(stack, dys)
    for k in range(3):
        bounds.assert_gradient(np.asarray(batched[k]), reference.lrn_grad(dys[k], stack[k], **ref))
    nchw = np.ascontiguousarray(stack.transpose(0, 1, 4, 2, 3))
    batched = jax.vmap(lambda t: lrn_op.jax.local_response_normalization(t, **params, data_format="NCHW"))(nchw)
    for k in range(3):
        bounds.assert_forward(np.asarray(batched[k]).transpose(0, 2, 3, 1), reference.lrn(stack[k], **ref))


def test_jax_refuses_a_jaxlib_older_than_the_one_it_was_built_against():
    from lrn_op import _build_info

    result = run_python("import jaxlib\njaxlib.__version__ = '0.4.1'\nimport lrn_op.jax\n")
    assert result.returncode == 1
    assert (f"lrn_op's XLA custom calls were compiled against jaxlib {_build_info.JAXLIB_VERSION}, but jaxlib 0.4.1 "
            "is installed, which is older") in result.stderr


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_torch_forward_and_gradient_per_dtype(rng, dtype):
    import torch

    import lrn_op.torch

    x, params, ref = _case(rng, np.float32)
    torch_dtype = getattr(torch, dtype)
    t = torch.from_numpy(x).to(torch_dtype).requires_grad_(True)
    y = lrn_op.torch.local_response_normalization(t, **params)
    dy = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32)).to(torch_dtype)
    y.backward(dy)
    assert y.dtype == t.grad.dtype == torch_dtype
    x64 = t.detach().double().numpy()
    y64 = y.detach().double().numpy()
    bounds.assert_forward(y64, reference.lrn(x64, **ref), DTYPES[dtype])
    bounds.assert_gradient(t.grad.double().numpy(), reference.lrn_grad(dy.double().numpy(), x64, **ref, y=y64),
                           DTYPES[dtype])


DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}


def test_torch_gradcheck_in_float64_both_formats(rng):
    import torch

    import lrn_op.torch

    x, params, _ = _case(rng, np.float64)
    for data_format in ("NHWC", "NCHW"):
        t = torch.from_numpy(x).requires_grad_(True)
        assert torch.autograd.gradcheck(
            lambda v: lrn_op.torch.local_response_normalization(v, **params, data_format=data_format), (t,))


def test_torch_ops_trace_without_a_graph_break(rng):
    import torch

    import lrn_op.torch

    x, params, ref = _case(rng)
    torch._dynamo.reset()
    fn = torch.compile(lambda t: lrn_op.torch.local_response_normalization(t, **params).sum(), fullgraph=True)
    t = torch.from_numpy(x).requires_grad_(True)
    fn(t).backward()
    bounds.assert_gradient(t.grad.numpy(), reference.lrn_grad(np.ones_like(x), x, **ref))


@pytest.mark.parametrize("layout", ["contiguous NHWC", "contiguous NCHW", "channels_last NCHW", "permuted NHWC"])
def test_torch_fake_implementations_give_what_the_kernels_give(rng, layout):
    # torch.compile plans memory from the fake implementations, without running the kernels: their shape, dtype,
    # strides and memory format must be those of the real results.
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    import lrn_op.torch  # noqa: F401  (registers the ops)

    channels_first = "NCHW" in layout
    base = torch.from_numpy(rng.standard_normal((2, 9, 3, 4) if channels_first else (2, 3, 4, 9)))
    make = {"contiguous NHWC": lambda t: t.to(torch.bfloat16),
            "contiguous NCHW": lambda t: t.to(torch.bfloat16),
            "channels_last NCHW": lambda t: t.to(torch.bfloat16).contiguous(memory_format=torch.channels_last),
            "permuted NHWC": lambda t: t.to(torch.bfloat16).permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)}[
                layout]
    params = (2, 1, 1.0, 1.0, 0.5, channels_first)  # before, after, bias, alpha, beta

    def results(x):
        y = torch.ops.lrn_op.local_response_normalization(x, *params)
        return y, torch.ops.lrn_op.local_response_normalization_grad(x, x, y, *params)

    real = results(make(base))
    with FakeTensorMode() as mode:
        fake = results(make(mode.from_tensor(base)))
    for r, f in zip(real, fake):
        assert (f.shape, f.dtype, f.stride()) == (r.shape, r.dtype, r.stride())
        assert f.is_contiguous(memory_format=torch.channels_last) == r.is_contiguous(memory_format=torch.channels_last)


def test_torch_noncontiguous_input_gives_the_contiguous_result(rng):
    import torch

    import lrn_op.torch

    x, params, _ = _case(rng)
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).permute(0, 2, 3, 1)  # NHWC view of NCHW
    assert not t.is_contiguous()
    y = lrn_op.torch.local_response_normalization(t, **params)
    np.testing.assert_array_equal(y.numpy(), lrn_op.torch.local_response_normalization(t.contiguous(), **params))


def test_torch_channels_last_memory_runs_as_nhwc_and_stays_channels_last(rng):
    import torch

    import lrn_op.torch

    x, params, ref = _case(rng, np.float64)
    nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    stored_nhwc = nchw.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    y = lrn_op.torch.local_response_normalization(stored_nhwc, **params, data_format="NCHW")
    assert y.is_contiguous(memory_format=torch.channels_last)
    bounds.assert_forward(y.detach().numpy().transpose(0, 2, 3, 1), reference.lrn(x, **ref))
    dy = torch.from_numpy(rng.standard_normal(y.shape))
    y.backward(dy)
    assert stored_nhwc.grad.is_contiguous(memory_format=torch.channels_last)
    expected = reference.lrn_grad(dy.numpy().transpose(0, 2, 3, 1), x, **ref, y=y.detach().numpy().transpose(0, 2, 3, 1))
    bounds.assert_gradient(stored_nhwc.grad.numpy().transpose(0, 2, 3, 1), expected)
    torch._dynamo.reset()
    compiled = torch.compile(lambda t: lrn_op.torch.local_response_normalization(t, **params, data_format="NCHW"),
                             fullgraph=True)
    np.testing.assert_array_equal(compiled(stored_nhwc.detach()).numpy(), y.detach().numpy())


def test_the_backends_benchmark_times_the_same_math_on_both_sides(rng):
    """bench --backends compares lrn_op with torch.nn.LocalResponseNorm and a keras.ops composite: both must compute
    lrn_op's LRN, or the table would time different things."""
    import keras
    import torch

    from lrn_op.bench import backends

    x, params, ref = _case(rng)
    expected = reference.lrn(x, **ref)
    nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    module = backends.torch_module(**params)
    assert bounds.forward_error(module(nchw).numpy().transpose(0, 2, 3, 1), expected, "float32") <= bounds.TF_FLOAT32
    composite = keras.ops.convert_to_numpy(backends.keras_composite(x, **params))
    assert bounds.forward_error(composite, expected, "float32") <= bounds.TF_FLOAT32
