// The XLA FFI custom-call targets for JAX: the same kernels (lrn_api.h) as the TF op, run inside XLA on the buffers
// it hands over, with no Python on the way. lrn_op/jax.py registers them with jax.ffi and ties them together with
// jax.custom_vjp.
//
// The channel axis is the last one (channels_last) or the third from last (channels_first); every axis before it
// counts as batch, so jax.vmap's extra leading axes cost nothing.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>

#include "lrn_api.h"
#include "parallel.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// The kernels' view of a buffer of the given dimensions, or an error that says what is wrong with it.
ffi::Error layout_of(ffi::AnyBuffer::Dimensions dims, bool channels_first, lrn::Layout* layout) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  const int64_t channel_axis = channels_first ? rank - 3 : rank - 1;
  if (channel_axis < 0) {
    return ffi::Error::InvalidArgument("lrn_op: a channels_first input needs at least 3 dimensions, got " +
                                       std::to_string(rank));
  }
  *layout = {1, dims[channel_axis], 1};
  for (int64_t axis = 0; axis < channel_axis; ++axis) layout->outer *= dims[axis];
  for (int64_t axis = channel_axis + 1; axis < rank; ++axis) layout->inner *= dims[axis];
  return ffi::Error::Success();
}

// Calls fn with a null pointer of the storage type of `type`.
template <class Fn>
ffi::Error with_storage_type(ffi::DataType type, Fn fn) {
  switch (type) {
    case ffi::DataType::F16: return fn(static_cast<lrn::f16*>(nullptr));
    case ffi::DataType::BF16: return fn(static_cast<lrn::bf16*>(nullptr));
    case ffi::DataType::F32: return fn(static_cast<float*>(nullptr));
    case ffi::DataType::F64: return fn(static_cast<double*>(nullptr));
    default: return ffi::Error::InvalidArgument("lrn_op: the input must be float16, bfloat16, float32 or float64");
  }
}

// The checks every call makes before a pointer is used: the parameters, and buffers of one type and shape.
ffi::Error checked(std::initializer_list<const ffi::AnyBuffer*> buffers, const lrn::Params& params,
                   bool channels_first, lrn::Layout* layout) {
  const std::string problem = lrn::check_params(params);
  if (!problem.empty()) return ffi::Error::InvalidArgument("lrn_op: " + problem);
  const ffi::AnyBuffer& first = **buffers.begin();
  for (const ffi::AnyBuffer* buffer : buffers) {
    if (buffer->element_type() != first.element_type() ||
        buffer->dimensions().size() != first.dimensions().size() ||
        !std::equal(first.dimensions().begin(), first.dimensions().end(), buffer->dimensions().begin())) {
      return ffi::Error::InvalidArgument("lrn_op: every buffer must have the input's shape and dtype");
    }
  }
  return layout_of(first.dimensions(), channels_first, layout);
}

ffi::Error run(bool ok) {
  return ok ? ffi::Error::Success()
            : ffi::Error(ffi::ErrorCode::kResourceExhausted, "lrn_op: no memory for the kernels' scratch");
}

ffi::Error forward(ffi::AnyBuffer x, ffi::Result<ffi::AnyBuffer> y, int64_t depth_radius, double bias, double alpha,
                   double beta, bool channels_first) {
  const lrn::Params params{depth_radius, bias, alpha, beta};
  lrn::Layout layout;
  if (ffi::Error error = checked({&x, &*y}, params, channels_first, &layout); error.failure()) return error;
  return with_storage_type(x.element_type(), [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    const T* in = static_cast<const T*>(x.untyped_data());
    T* out = static_cast<T*>(y->untyped_data());
    return run(lrn::parallel_tiles(lrn::num_tiles(layout), [&](int64_t begin, int64_t end) {
      return lrn::forward(in, out, layout, params, begin, end);
    }));
  });
}

ffi::Error backward(ffi::AnyBuffer dy, ffi::AnyBuffer x, ffi::AnyBuffer y, ffi::Result<ffi::AnyBuffer> dx,
                    int64_t depth_radius, double bias, double alpha, double beta, bool channels_first) {
  const lrn::Params params{depth_radius, bias, alpha, beta};
  lrn::Layout layout;
  if (ffi::Error error = checked({&x, &dy, &y, &*dx}, params, channels_first, &layout); error.failure()) {
    return error;
  }
  return with_storage_type(x.element_type(), [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    const T* g = static_cast<const T*>(dy.untyped_data());
    const T* in = static_cast<const T*>(x.untyped_data());
    const T* out = static_cast<const T*>(y.untyped_data());
    T* grad = static_cast<T*>(dx->untyped_data());
    return run(lrn::parallel_tiles(lrn::num_tiles(layout), [&](int64_t begin, int64_t end) {
      return lrn::backward(g, in, out, grad, layout, params, begin, end);
    }));
  });
}

template <class Binding>
auto with_params(Binding binding) {
  return std::move(binding)
      .template Attr<int64_t>("depth_radius")
      .template Attr<double>("bias")
      .template Attr<double>("alpha")
      .template Attr<double>("beta")
      .template Attr<bool>("channels_first");
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(LrnOpForward, forward,
                              with_params(ffi::Ffi::Bind().Arg<ffi::AnyBuffer>().Ret<ffi::AnyBuffer>()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    LrnOpBackward, backward,
    with_params(
        ffi::Ffi::Bind().Arg<ffi::AnyBuffer>().Arg<ffi::AnyBuffer>().Arg<ffi::AnyBuffer>().Ret<ffi::AnyBuffer>()));
