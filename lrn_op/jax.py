"""A JAX front end: lrn_op's kernels as XLA FFI custom calls, so that they run inside jit-compiled XLA programs with
no Python callback. It never imports TensorFlow.

`local_response_normalization` is differentiable once (`jax.custom_vjp` ties the forward call to the gradient
call), and works under `jax.jit` and `jax.vmap`. The parameters mean what they mean in
`lrn_op.local_response_normalization`.

Both calls tell XLA how to split them (`custom_partitioning`, with a Shardy sharding rule), so that a program sharded
over the batch, the height or the width runs the kernels on each device's own shard, with no collective. A sharding
over the channels gathers the channels, since each output channel needs its 2 * depth_radius neighbours.
"""
import ctypes
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np
from jax.experimental.custom_partitioning import custom_partitioning
from jax.sharding import NamedSharding, PartitionSpec

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


def _ffi_call(target, params, *operands):
    depth_radius, bias, alpha, beta, channels_first = params
    like = operands[0]
    return jax.ffi.ffi_call(target, jax.ShapeDtypeStruct(like.shape, like.dtype))(
        *operands, depth_radius=np.int64(depth_radius), bias=np.float64(bias), alpha=np.float64(alpha),
        beta=np.float64(beta), channels_first=channels_first)


def _channel_axis(params, rank):
    return rank - 3 if params[4] else rank - 1


def _local(params, mesh, shape):
    """The sharding the kernels run on: the operand's own, with the channel axis whole on each device."""
    sharding = shape.sharding
    if not isinstance(sharding, NamedSharding):
        return NamedSharding(mesh, PartitionSpec())
    rank = len(shape.shape)
    spec = list(sharding.spec) + [None] * (rank - len(sharding.spec))
    spec[_channel_axis(params, rank)] = None
    return NamedSharding(sharding.mesh, PartitionSpec(*spec))


def _partition(target, params, mesh, operand_shapes, result_shape):
    sharding = _local(params, mesh, result_shape)
    return (sharding.mesh, functools.partial(_ffi_call, target, params), sharding,
            (sharding,) * len(operand_shapes))


def _infer_from_operands(target, params, mesh, operand_shapes, result_shape):
    x = operand_shapes[1] if target == _BACKWARD else operand_shapes[0]  # (dy, x, y) or (x,)
    return _local(params, mesh, x)


def _propagate_from_user(target, params, mesh, user_shape):
    return _local(params, mesh, user_shape)


def _sharding_rule(target, params, mesh, operand_types, result_types):
    # "..." holds the batch and any axes vmap added; only the channels ("c") may not stay split.
    axes = "... c h w" if params[4] else "... h w c"
    return f"{', '.join([axes] * len(operand_types))} -> {axes}", {"need_replication_factors": ("c",)}


_partitioned_call = custom_partitioning(_ffi_call, static_argnums=(0, 1))
# Shardy reads sharding_rule; the older GSPMD partitioner (jax < 0.7) reads the two propagation functions.
_partitioned_call.def_partition(partition=_partition, infer_sharding_from_operands=_infer_from_operands,
                                propagate_user_sharding=_propagate_from_user, sharding_rule=_sharding_rule)


@functools.lru_cache(maxsize=None)
def _batchable(target, params):
    """The partitioned call for one kernel and one set of parameters, with a vmap rule: custom_partitioning has none,
    and the kernels count every leading axis as batch (cc/xla_ffi.cc), so vmap's axis goes in front."""

    @jax.custom_batching.custom_vmap
    def call(*operands):
        return _partitioned_call(target, params, *operands)

    @call.def_vmap
    def _(axis_size, in_batched, *operands):
        operands = [operand if batched else jnp.broadcast_to(operand, (axis_size, *operand.shape))
                    for operand, batched in zip(operands, in_batched)]
        return call(*operands), True

    return call


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _call(target, params, *operands):
    return _batchable(target, params)(*operands)


@_call.defjvp
def _call_jvp(target, params, primals, tangents):
    # jax.custom_vjp in _lrn gives the first derivative; a derivative that reaches a kernel call is a second one.
    raise NotImplementedError(f"lrn_op.jax's kernels ({target}) have no derivative of their own, so lrn_op.jax "
                              "differentiates once: second derivatives are not defined here. lrn_op's TensorFlow op "
                              "has them (lrn_op.local_response_normalization).")


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _lrn(x, params):
    return _call(_FORWARD, params, x)


def _lrn_forward(x, params):
    y = _call(_FORWARD, params, x)
    return y, (x, y)


def _lrn_backward(params, residuals, dy):
    x, y = residuals
    return (_call(_BACKWARD, params, dy, x, y),)


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
    return _call(_BACKWARD, params, dy, x, y)


def simd_path():
    """The SIMD path the kernels run on, as `lrn_op.numpy.simd_path`."""
    return _library.LrnOpSimdPath().decode()
