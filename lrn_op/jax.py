"""A JAX front end: lrn_op's kernels as XLA FFI custom calls, so that they run inside jit-compiled XLA programs with
no Python callback. It never imports TensorFlow.

`local_response_normalization` is differentiable to any order (`jax.custom_vjp` ties the forward call to the
gradient call; each call's `jax.custom_jvp` rule gives the derivatives beyond, in JAX's own ops), and works under
`jax.jit` and `jax.vmap`. The parameters mean what they mean in
`lrn_op.local_response_normalization`.

Both calls tell XLA how to split them (`custom_partitioning`, with a Shardy sharding rule), so that a program sharded
over the batch, the height or the width runs the kernels on each device's own shard, with no collective. A shard of
the channels takes the neighbouring channels it needs from the shards beside it (`_with_halos`), or, where it
cannot, the channels are gathered.
"""
import ctypes
import functools
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np
from jax.experimental.custom_partitioning import custom_partitioning
from jax.sharding import NamedSharding, PartitionSpec

import lrn_op
from lrn_op import _coercion, _formulas, _params, _simd, _versions

_FORWARD, _BACKWARD = "lrn_op_forward", "lrn_op_backward"


def _register():
    try:
        from lrn_op import _build_info

        library = ctypes.CDLL(str(Path(__file__).with_name("_lrn_xla.so")))
    except (ImportError, OSError) as error:
        raise lrn_op._not_built(error) from None
    built, running = _build_info.JAXLIB_VERSION, jaxlib.__version__
    if _versions.release(running) < _versions.release(built):
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
_simd.check_simd_request(_library.LrnOpSimdPath().decode())


def _ffi_call(target, params, *operands):
    like = operands[0]
    return jax.ffi.ffi_call(target, jax.ShapeDtypeStruct(like.shape, like.dtype))(
        *operands, before=np.int64(params.before), after=np.int64(params.after), bias=np.float64(params.bias),
        alpha=np.float64(params.alpha), beta=np.float64(params.beta), channels_first=params.channels_first,
        rank=np.int64(params.rank))


class _Params(NamedTuple):
    """What the kernels compute with, checked (_params.kernel_params, convention_params), and the rank of the
    operands as the caller handed them (vmap's axes come in front of it); hashable, so static for jit."""
    before: int
    after: int
    bias: float
    alpha: float
    beta: float
    channels_first: bool
    rank: int


def _channel_axis(params, rank):
    return rank - params.rank + 1 if params.channels_first else rank - 1


def _halo(target, params):
    """How many neighbouring channels on each side a channel shard needs, or None if it cannot be computed from
    neighbours alone. The forward's output channel needs the inputs within depth_radius; the gradient's needs the
    normalisers within depth_radius, each of which needs the inputs within depth_radius of it. The channels past the
    edges arrive as zeros: they add nothing to a sum of squares, and nothing to the gradient's sum while every
    normaliser is positive (bias > 0, alpha >= 0); otherwise a zero normaliser there would give 0/0."""
    if target == _FORWARD:
        return max(params.before, params.after)
    window = params.before + params.after
    return window if params.bias > 0 and params.alpha >= 0 else None


def _channel_split(target, params, shape):
    """(mesh axis, shards, halo) when the channels are split over one mesh axis into shards at least `halo` deep,
    so that each shard can take its halo from its two neighbours; else None."""
    sharding = shape.sharding
    if not isinstance(sharding, NamedSharding) or not jax.config.jax_use_shardy_partitioner:
        # GSPMD (jax < 0.7) aborts the process compiling a gradient that gathers after a forward that exchanged
        # halos (XLA: "Could not convert JSON string to proto"), so under it the channels are always gathered.
        return None
    rank = len(shape.shape)
    channel = _channel_axis(params, rank)
    axis = (tuple(sharding.spec) + (None,) * rank)[channel]
    if isinstance(axis, tuple):
        axis = axis[0] if len(axis) == 1 else None
    if axis is None:
        return None
    shards, halo = sharding.mesh.shape[axis], _halo(target, params)
    if halo is None or halo > shape.shape[channel] // shards:
        return None
    return axis, shards, halo


def _local(target, params, mesh, shape):
    """The sharding the kernels run on: the operand's own, with the channel axis whole on each device unless its
    shards can exchange halos."""
    sharding = shape.sharding
    if not isinstance(sharding, NamedSharding):
        return NamedSharding(mesh, PartitionSpec())
    rank = len(shape.shape)
    spec = list(sharding.spec) + [None] * (rank - len(sharding.spec))
    if _channel_split(target, params, shape) is None:
        spec[_channel_axis(params, rank)] = None
    return NamedSharding(sharding.mesh, PartitionSpec(*spec))


def _with_halos(target, params, axis, shards, halo, *operands):
    """The kernel call on one channel shard: each operand widened by `halo` channels from each neighbouring shard
    (zeros past the first and the last), and the result cut back to the shard's own channels."""
    channel = _channel_axis(params, operands[0].ndim)
    depth = operands[0].shape[channel]
    if halo:
        to_next = [(i, i + 1) for i in range(shards - 1)]
        to_previous = [(i + 1, i) for i in range(shards - 1)]
        operands = [jnp.concatenate([
            jax.lax.ppermute(jax.lax.slice_in_dim(operand, depth - halo, depth, axis=channel), axis, to_next),
            operand,
            jax.lax.ppermute(jax.lax.slice_in_dim(operand, 0, halo, axis=channel), axis, to_previous),
        ], axis=channel) for operand in operands]
    return jax.lax.slice_in_dim(_ffi_call(target, params, *operands), halo, halo + depth, axis=channel)


def _partition(target, params, mesh, operand_shapes, result_shape):
    # The operands arrive in _local's sharding: their channels stay split exactly when _channel_split finds a split.
    sharding = _local(target, params, mesh, result_shape)
    split = _channel_split(target, params, result_shape)
    call = functools.partial(_with_halos, target, params, *split) if split else functools.partial(_ffi_call, target,
                                                                                                  params)
    return sharding.mesh, call, sharding, (sharding,) * len(operand_shapes)


def _infer_from_operands(target, params, mesh, operand_shapes, result_shape):
    x = operand_shapes[1] if target == _BACKWARD else operand_shapes[0]  # (dy, x, y) or (x,)
    return _local(target, params, mesh, x)


def _propagate_from_user(target, params, mesh, user_shape):
    return _local(target, params, mesh, user_shape)


def _sharding_rule(target, params, mesh, operand_types, result_types):
    # "..." holds the batch and any axes vmap added. The channels may stay split: _partition exchanges halos between
    # their shards, or gathers them where it cannot.
    spatial = " ".join(f"s{axis}" for axis in range(params.rank - 2))
    axes = f"... c {spatial}" if params.channels_first else f"... {spatial} c"
    return f"{', '.join([axes] * len(operand_types))} -> {axes}"


_partitioned_call = custom_partitioning(_ffi_call, static_argnums=(0, 1))
# Shardy reads sharding_rule; the older GSPMD partitioner (jax < 0.7) reads the two propagation functions.
_partitioned_call.def_partition(partition=_partition, infer_sharding_from_operands=_infer_from_operands,
                                propagate_user_sharding=_propagate_from_user, sharding_rule=_sharding_rule)


# One entry per kernel and set of parameters a program uses: a model has a few; a sweep over parameters must not
# hold every one it tried.
@functools.lru_cache(maxsize=256)
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


def _window_sums(params, rank):
    """The window sums of _formulas over the channel axis, (W, W'): summing reduce_windows over zero padding, which JAX
    differentiates and transposes (the initial value a Python 0.0: that makes them JAX's reduce_window_sum, which has
    a transpose rule, where a typed zero would make them the generic reduce_window, which has none)."""
    axis = _channel_axis(params, rank)

    def sum_over(v, before, after):
        window, padding = [1] * rank, [(0, 0)] * rank
        window[axis], padding[axis] = before + after + 1, (before, after)
        return jax.lax.reduce_window(v, 0.0, jax.lax.add, window, (1,) * rank, padding)

    return _formulas.window_sums(params.before, params.after, lambda v: v.shape[axis], sum_over)


def _wide(arrays):
    """The arrays at the precision the derivatives compute in: float64 where JAX has it (jax_enable_x64)."""
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    return [jnp.asarray(a).astype(dtype) for a in arrays]


@_call.defjvp
def _call_jvp(target, params, primals, tangents):
    """A derivative that reaches a kernel call: the first derivative of the forward under forward mode, or a second
    derivative. Each is the transpose of a vector-Jacobian product of _formulas (the forward's is the gradient, the
    gradient's is gradient_of_gradient), written in JAX's own ops, so that JAX differentiates it again and transposes
    it for reverse mode."""
    out = _call(target, params, *primals)
    windows = _window_sums(params, out.ndim)
    coefficients = (params.bias, params.alpha, params.beta)
    if target == _FORWARD:
        x, y = _wide([primals[0], out])

        def vector_jacobian(g):
            return _formulas.gradient(*windows, g, x, y, *coefficients)
    else:
        dy, x, y = _wide(primals)

        def vector_jacobian(g):
            return _formulas.gradient_of_gradient(*windows, g, dy, x, y, *coefficients)
    wide = _wide(tangents)
    transposed = jax.linear_transpose(vector_jacobian, jax.ShapeDtypeStruct(out.shape, wide[0].dtype))
    (tangent,) = transposed(wide[0] if target == _FORWARD else tuple(wide))
    return out, tangent.astype(out.dtype)


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
    value, takes_default = _coercion.coerce(name, value)
    array = jnp.asarray(value, dtype=default if takes_default else None)
    _coercion.check_rank(name, array.shape)
    return array


def _static(name, value):
    if isinstance(value, jax.core.Tracer):
        raise TypeError(f"{name} must be a static Python int: it sets the window, which the compiled program fixes "
                        f"(mark it static, e.g. jax.jit(f, static_argnames='{name}')), got a traced value")


def _kernel_params(x, depth_radius, bias, alpha, beta, data_format):
    _static("depth_radius", depth_radius)
    return _Params(*_params.kernel_params(depth_radius, bias, alpha, beta, data_format), x.ndim)


def _convention_params(x, size, alpha, beta, k, convention):
    _static("size", size)
    return _Params(*_params.convention_params(size, alpha, beta, k, convention), x.ndim)


def local_response_normalization(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC"):
    """LRN in TF's convention; see `lrn_op.local_response_normalization` for the math and the arguments. x has any
    rank of 3 or more: channels last (data_format="NHWC": (N, ..., C)) or after the batch axis ("NCHW": (N, C, ...)).

    Differentiable to any order (jax.grad, jax.hessian): the first derivative runs lrn_op's kernel, higher ones
    JAX's own ops (at float64 under jax_enable_x64).
    """
    x = _as_input("x", x)
    return _lrn(x, _kernel_params(x, depth_radius, bias, alpha, beta, data_format))


def local_response_normalization_grad(dy, x, y, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format="NHWC"):
    """The gradient with respect to x, given dy and y = LRN(x), as `lrn_op.local_response_normalization_grad`."""
    x = _as_input("x", x)
    params = _kernel_params(x, depth_radius, bias, alpha, beta, data_format)
    dy, y = _as_input("dy", dy, x.dtype), _as_input("y", y, x.dtype)
    _coercion.match_x("x", x, dy=dy, y=y)
    return _call(_BACKWARD, params, dy, x, y)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0, *, convention="torch"):
    """LRN in PyTorch's or ONNX's convention over axis 1 of an (N, C, ...) array; see
    `lrn_op.numpy.local_response_norm` for the math and the two windows. Differentiable to any order, as
    `local_response_normalization`."""
    x = _as_input("x", x)
    return _lrn(x, _convention_params(x, size, alpha, beta, k, convention))


def simd_path():
    """The SIMD path the kernels run on, as `lrn_op.numpy.simd_path`."""
    return _library.LrnOpSimdPath().decode()
