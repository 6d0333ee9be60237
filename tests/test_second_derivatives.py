"""Second derivatives under JAX and PyTorch (TF's are in test_beyond.py): Hessian-vector products through each front
end's own autodiff against TF's autodiff of the independent reference (reference.lrn_in_tf_ops) at float64, jax.hessian
itself, PyTorch's gradgradcheck, and a third derivative that computes."""
import json

import numpy as np
import pytest
import tensorflow as tf

import reference
from bounds import SECOND_ORDER, gradient_error
from conftest import run_python

PARAMS = dict(depth_radius=2, bias=1.0, alpha=0.5)
SHAPE = (2, 3, 3, 7)


def expected_hessian_vector_product(x, dy, v, beta, data_format):
    """d/dx <v, d/dx <dy, LRN(x)>>, by TF's autodiff of the independent reference in stock ops (float64)."""
    nchw = data_format == "NCHW"
    x, dy, v = map(tf.constant, (x, dy, v))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            t = tf.transpose(x, [0, 2, 3, 1]) if nchw else x
            y = reference.lrn_in_tf_ops(t, PARAMS["depth_radius"], PARAMS["bias"], PARAMS["alpha"], beta)
            y = tf.transpose(y, [0, 3, 1, 2]) if nchw else y
        grad = inner.gradient(y, x, output_gradients=dy)
    return outer.gradient(grad, x, output_gradients=v).numpy()


def case(rng, data_format):
    shape = SHAPE if data_format == "NHWC" else (SHAPE[0], SHAPE[3], SHAPE[1], SHAPE[2])
    return [rng.standard_normal(shape) for _ in range(3)]  # x, dy, v


# Run in a process of its own: jax_enable_x64 is a process-wide setting.
JAX_SECOND_ORDER = """
import json, sys
import jax, jax.numpy as jnp, numpy as np
import lrn_op.jax
x, dy, v = (jnp.asarray(np.array(a)) for a in json.loads(sys.argv[1]))
params = json.loads(sys.argv[2])

def f(t):
    return jnp.sum(lrn_op.jax.local_response_normalization(t, **params) * dy)

reverse_over_reverse = jax.grad(lambda t: jnp.sum(jax.grad(f)(t) * v))(x)
forward_over_reverse = jax.jvp(jax.grad(f), (x,), (v,))[1]
hessian = jnp.tensordot(jax.jit(jax.hessian(f))(x), v, axes=x.ndim)
third = jax.grad(lambda t: jnp.sum(jax.grad(lambda u: jnp.sum(jax.grad(f)(u) * v))(t) * v))(x)
print(json.dumps({"dtype": str(x.dtype), "third_finite": bool(jnp.all(jnp.isfinite(third))),
                  **{name: np.asarray(value).tolist() for name, value in [
                      ("reverse_over_reverse", reverse_over_reverse), ("forward_over_reverse", forward_over_reverse),
                      ("hessian", hessian)]}}))
"""


@pytest.mark.parametrize("beta", [0.5, 0.75, 1.3])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_jax_second_derivatives_match_tensorflows_at_float64(rng, beta, data_format):
    x, dy, v = case(rng, data_format)
    params = dict(PARAMS, beta=beta, data_format=data_format)
    result = run_python(JAX_SECOND_ORDER, json.dumps([a.tolist() for a in (x, dy, v)]), json.dumps(params),
                        env={"JAX_ENABLE_X64": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.splitlines()[-1])
    assert got["dtype"] == "float64" and got["third_finite"]
    expected = expected_hessian_vector_product(x, dy, v, beta, data_format)
    for name in ("reverse_over_reverse", "forward_over_reverse", "hessian"):
        error = gradient_error(np.array(got[name]), expected)
        assert error <= SECOND_ORDER["float64"], f"{name}: {error:.3g}"


def test_jax_second_derivative_in_float32_without_x64(rng):
    import jax
    import jax.numpy as jnp

    import lrn_op.jax

    x, dy, v = case(rng, "NHWC")
    params = dict(PARAMS, beta=0.75)

    def f(t):
        return jnp.sum(lrn_op.jax.local_response_normalization(t, **params) * dy.astype(np.float32))

    hvp = jax.jvp(jax.grad(f), (jnp.asarray(x, jnp.float32),), (jnp.asarray(v, jnp.float32),))[1]
    assert hvp.dtype == jnp.float32
    expected = expected_hessian_vector_product(*(a.astype(np.float32).astype(np.float64) for a in (x, dy, v)), 0.75,
                                               "NHWC")
    assert gradient_error(np.asarray(hvp), expected) <= SECOND_ORDER["float32"]


@pytest.mark.parametrize("beta", [0.5, 0.75, 1.3])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_torch_second_derivatives_match_tensorflows_at_float64(rng, beta, data_format):
    import torch

    import lrn_op.torch

    x, dy, v = case(rng, data_format)
    params = dict(PARAMS, beta=beta, data_format=data_format)
    t = torch.from_numpy(x).requires_grad_(True)
    y = lrn_op.torch.local_response_normalization(t, **params)
    (grad,) = torch.autograd.grad(y, t, torch.from_numpy(dy), create_graph=True)
    (hvp,) = torch.autograd.grad(grad, t, torch.from_numpy(v), create_graph=True)
    expected = expected_hessian_vector_product(x, dy, v, beta, data_format)
    assert gradient_error(hvp.detach().numpy(), expected) <= SECOND_ORDER["float64"]
    (third,) = torch.autograd.grad(hvp, t, torch.from_numpy(v))
    assert torch.isfinite(third).all()


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_torch_gradgradcheck_passes(rng, data_format):
    import torch

    import lrn_op.torch

    x = torch.from_numpy(case(rng, data_format)[0][:1, :3]).requires_grad_(True)
    params = dict(PARAMS, beta=0.75, data_format=data_format)
    assert torch.autograd.gradcheck(lambda t: lrn_op.torch.local_response_normalization(t, **params), (x,))
    assert torch.autograd.gradgradcheck(lambda t: lrn_op.torch.local_response_normalization(t, **params), (x,))
