"""A JAX front end: lrn_op's kernels as XLA FFI custom calls, so that they run inside jit-compiled XLA programs with
no Python callback. It never imports TensorFlow.

`local_response_normalization` is differentiable once (`jax.custom_vjp` ties the forward call to the gradient
call), and works under `jax.jit` and `jax.vmap`. The parameters mean what they mean in
`lrn_op.local_response_normalization`.
"""
import ctypes
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

import lrn_op
from lrn_op import _checks

_FORWARD, _BACKWARD = "lrn_op_forward", "lrn_op_backward"


def _register():
    try:
        from lrn_op import _build_info

        library = ctypes.CDLL(str(Path(__file__).with_name("_lrn_xla.so")))
    except (ImportError, OSError) as error:
        raise lrn_op._not_built(error) from None
    built, running = _build_info.JAXLIB_VERSION, jaxlib.__version__
    if _checks.release(running) < _checks.release(built):
        # XLA's FFI takes handlers compiled against its own headers or older ones; an older jaxlib would fail only
        # at the first call, inside XLA.
        raise ImportError(f"lrn_op's XLA custom calls were compiled against jaxlib {built}, but jaxlib {running} is "
                          f"installed, which is older: pip install 'jaxlib>={built}' (or rebuild lrn_op against "
                          "this jaxlib from its source tree: pip install --no-build-isolation --no-deps .)")
    jax.ffi.register_ffi_target(_FORWARD, jax.ffi.pycapsule(library.LrnOpForward), platform="cpu")
    jax.ffi.register_ffi_target(_BACKWARD, jax.ffi.pycapsule(library.LrnOpBackward), platform="cpu")
    library.LrnOpSimdPath.restype = ctypes.c_char_p
    return library


_library = _register()
_checks.check_simd_request(_library.LrnOpSimdPath().decode())


def _call(target, like, params, *operands):
    depth_radius, bias, alpha, beta, channels_first = params
    # Leading axes count as batch in the kernels (cc/xla_ffi.cc), so vmap hands its batch axes straight through.
    return jax.ffi.ffi_call(target, jax.ShapeDtypeStruct(like.shape, like.dtype), vmap_method="broadcast_all")(
        *operands, depth_radius=np.int64(depth_radius), bias=np.float64(bias), alpha=np.float64(alpha),
        beta=np.float64(beta), channels_first=channels_first)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _lrn(x, params):
    return _call(_FORWARD, x, params, x)


def _lrn_forward(x, params):
    y = _call(_FORWARD, x, params, x)
    return y, (x, y)


def _lrn_backward(params, residuals, dy):
    x, y = residuals
    return (_call(_BACKWARD, x, params, dy, x, y),)


_lrn.defvjp(_lrn_forward, _lrn_backward)


def _as_input(name, value, default=jnp.float32):
    """An input as a JAX array, coerced as COERCION says."""
    array = jnp.asarray(value, dtype=default if _checks.takes_default_dtype(name, value) else None)
    _checks.check_rank(name, array.shape)
    return array


def local_response_normalization(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC"):
    """LRN of a 4-D JAX array (NHWC, or NCHW with data_format="NCHW"); see `lrn_op.local_response_normalization`.

    Differentiable once with jax.grad; second derivatives are not defined (the gradient call has no derivative).
    """
    params = _checks.kernel_params(depth_radius, bias, alpha, beta, data_format)
    return _lrn(_as_input("x", x), params)


def local_response_normalization_grad(dy, x, y, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC"):
    """The gradient with respect to x, given dy and y = LRN(x), as `lrn_op.local_response_normalization_grad`."""
    params = _checks.kernel_params(depth_radius, bias, alpha, beta, data_format)
    x = _as_input("x", x)
    dy, y = _as_input("dy", dy, x.dtype), _as_input("y", y, x.dtype)
    _checks.match_x("x", x, dy=dy, y=y)
    return _call(_BACKWARD, x, params, dy, x, y)


def simd_path():
    """The SIMD path the kernels run on, as `lrn_op.numpy.simd_path`."""
    return _library.LrnOpSimdPath().decode()
