// XLA FFI bindings over lrn_api.h's one entry, for lrn_op.jax: the buffers XLA hands over go to the same kernels as
// the TF op's, with no Python on the way. lrn_op/jax.py registers the two handlers with jax.ffi and ties them
// together with jax.custom_vjp.
//
// jax.vmap adds leading axes: every axis before the operand's own batch axis (its `rank`, an attribute, counted from
// the last) is folded into the batch, so they cost nothing.
#include <cstdint>
#include <exception>
#include <new>
#include <string>

#include "lrn_api.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// A buffer as the entry sees it: XLA's buffers are dense and row-major.
lrn::Operand operand(const char* name, const ffi::AnyBuffer& buffer, int64_t rank) {
  lrn::Operand result;
  result.name = name;
  switch (buffer.element_type()) {
    case ffi::DataType::F16: result.dtype = lrn::DType::kF16; break;
    case ffi::DataType::BF16: result.dtype = lrn::DType::kBF16; break;
    case ffi::DataType::F32: result.dtype = lrn::DType::kF32; break;
    case ffi::DataType::F64: result.dtype = lrn::DType::kF64; break;
    default: result.type_name = "XLA element type " + std::to_string(static_cast<int>(buffer.element_type()));
  }
  const auto dims = buffer.dimensions();
  result.dims.assign(dims.begin(), dims.end());
  if (static_cast<int64_t>(result.dims.size()) > rank) {
    const size_t extra = result.dims.size() - static_cast<size_t>(rank);
    for (size_t axis = 0; axis < extra; ++axis) result.dims[extra] *= result.dims[axis];
    result.dims.erase(result.dims.begin(), result.dims.begin() + extra);
  }
  result.data = buffer.untyped_data();
  return result;
}

ffi::Error compute(lrn::Request& request, const ffi::AnyBuffer& out, const ffi::ThreadPool& pool) {
  request.out = operand("out", out, request.rank);
  request.threads.max_threads = static_cast<int>(pool.num_threads());  // 0 where XLA does not say: every CPU
  const lrn::Status status = lrn::compute(request);
  switch (status.code) {
    case lrn::Code::kOk: return ffi::Error::Success();
    case lrn::Code::kInvalidArgument:
    case lrn::Code::kWrongType: return ffi::Error::InvalidArgument("lrn_op: " + status.message);
    case lrn::Code::kOutOfMemory: return ffi::Error(ffi::ErrorCode::kResourceExhausted, "lrn_op: " + status.message);
    default: return ffi::Error::Internal("lrn_op: " + status.message);
  }
}

lrn::Request request_of(lrn::Direction direction, int64_t before, int64_t after, double bias, double alpha,
                        double beta, bool channels_first, int64_t rank) {
  lrn::Request request{direction, lrn::Params{before, after, bias, alpha, beta}, channels_first};
  request.rank = rank;
  return request;
}

ffi::Error forward(ffi::ThreadPool pool, ffi::AnyBuffer x, ffi::Result<ffi::AnyBuffer> out, int64_t before,
                   int64_t after, double bias, double alpha, double beta, bool channels_first, int64_t rank) {
  lrn::Request request =
      request_of(lrn::Direction::kForward, before, after, bias, alpha, beta, channels_first, rank);
  request.x = operand("x", x, rank);
  return compute(request, *out, pool);
}

ffi::Error backward(ffi::ThreadPool pool, ffi::AnyBuffer dy, ffi::AnyBuffer x, ffi::AnyBuffer y,
                    ffi::Result<ffi::AnyBuffer> out, int64_t before, int64_t after, double bias, double alpha,
                    double beta, bool channels_first, int64_t rank) {
  lrn::Request request =
      request_of(lrn::Direction::kBackward, before, after, bias, alpha, beta, channels_first, rank);
  request.x = operand("x", x, rank);
  request.dy = operand("dy", dy, rank);
  request.y = operand("y", y, rank);
  return compute(request, *out, pool);
}

template <class Binding>
auto with_params(Binding binding) {
  return std::move(binding)
      .template Attr<int64_t>("before")
      .template Attr<int64_t>("after")
      .template Attr<double>("bias")
      .template Attr<double>("alpha")
      .template Attr<double>("beta")
      .template Attr<bool>("channels_first")
      .template Attr<int64_t>("rank");
}

XLA_FFI_DEFINE_HANDLER(kForward, forward,
                       with_params(ffi::Ffi::Bind().Ctx<ffi::ThreadPool>().Arg<ffi::AnyBuffer>().Ret<ffi::AnyBuffer>()));
XLA_FFI_DEFINE_HANDLER(kBackward, backward,
                       with_params(ffi::Ffi::Bind()
                                       .Ctx<ffi::ThreadPool>()
                                       .Arg<ffi::AnyBuffer>()
                                       .Arg<ffi::AnyBuffer>()
                                       .Arg<ffi::AnyBuffer>()
                                       .Ret<ffi::AnyBuffer>()));

// An XLA error with the message: the C API's own constructor, which copies the message.
XLA_FFI_Error* error_of(XLA_FFI_CallFrame* call_frame, XLA_FFI_Error_Code code, const char* message) noexcept {
  XLA_FFI_Error_Create_Args args;
  args.struct_size = XLA_FFI_Error_Create_Args_STRUCT_SIZE;
  args.extension_start = nullptr;
  args.errc = code;
  args.message = message;
  return call_frame->api->XLA_FFI_Error_Create(&args);
}

// The handler, with whatever C++ exception the binding's decoding or the handler throws turned into an XLA error:
// none may cross XLA's C API.
XLA_FFI_Error* guarded(XLA_FFI_Handler* handler, XLA_FFI_CallFrame* call_frame) noexcept {
  try {
    return (*handler)(call_frame);
  } catch (const std::bad_alloc&) {
    return error_of(call_frame, XLA_FFI_Error_Code_RESOURCE_EXHAUSTED, "lrn_op ran out of memory");
  } catch (const std::exception& error) {
    return error_of(call_frame, XLA_FFI_Error_Code_INTERNAL, error.what());
  } catch (...) {
    return error_of(call_frame, XLA_FFI_Error_Code_INTERNAL, "lrn_op: an unknown C++ exception");
  }
}

}  // namespace

// The entry points lrn_op/jax.py registers with jax.ffi, and the SIMD path for lrn_op.jax.simd_path (through ctypes):
// this library's only exports.
#define LRN_XLA_EXPORT extern "C" __attribute__((visibility("default")))
LRN_XLA_EXPORT XLA_FFI_Error* LrnOpForward(XLA_FFI_CallFrame* call_frame) { return guarded(kForward, call_frame); }
LRN_XLA_EXPORT XLA_FFI_Error* LrnOpBackward(XLA_FFI_CallFrame* call_frame) { return guarded(kBackward, call_frame); }
LRN_XLA_EXPORT const char* LrnOpSimdPath() { return lrn::simd_path(); }
