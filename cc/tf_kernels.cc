#include "tf_kernels.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lrn_api.h"
#include "tensorflow/c/kernels.h"
#include "tf_c_api.h"

namespace lrn_tf {
namespace {

// What the kernels of one node compute with: its attributes, read and checked once when TF builds the kernel.
struct Kernel {
  lrn::Params params{};
  bool channels_first = false;
};

// The C API gives no access to TF's CPU worker pool, nor a safe way to read the session's ConfigProto from every
// place a kernel runs (grappler's constant folding runs kernels without one), so the kernels run on lrn_op's pool
// with the thread limit that LrnOpSetThreadLimit gives: tf.config.threading's intra-op setting (lrn_op/_loader.py).
std::atomic<int> thread_limit{0};

bool Failed(TF_OpKernelConstruction* ctx, const Status& status) {
  if (TF_GetCode(status.get()) == TF_OK) return false;
  TF_OpKernelConstruction_Failure(ctx, status.get());
  return true;
}

void Fail(TF_OpKernelConstruction* ctx, const std::string& message) {
  Status status = NewStatus();
  TF_SetStatus(status.get(), TF_INVALID_ARGUMENT, message.c_str());
  TF_OpKernelConstruction_Failure(ctx, status.get());
}

// A string attribute, or "" if the op has no such attribute (TF's own LRN has neither data_format nor
// exact_bias_alpha_beta).
bool StringAttr(TF_OpKernelConstruction* ctx, const char* name, std::string* value) {
  Status status = NewStatus();
  if (!TF_OpKernelConstruction_HasAttr(ctx, name, status.get())) return !Failed(ctx, status);
  int32_t list_size = 0, total_size = 0;
  TF_OpKernelConstruction_GetAttrSize(ctx, name, &list_size, &total_size, status.get());
  if (Failed(ctx, status)) return false;
  value->resize(static_cast<size_t>(total_size));
  TF_OpKernelConstruction_GetAttrString(ctx, name, value->data(), value->size(), status.get());
  return !Failed(ctx, status);
}

// A report for Guarded that fails the kernel's construction or computation with the message.
template <class Context>
auto FailTo(Context* ctx, void (*failure)(Context*, TF_Status*)) {
  return [ctx, failure](TF_Code code, const char* message) {
    Status status = NewStatus();
    TF_SetStatus(status.get(), code, message);
    failure(ctx, status.get());
  };
}

void* CreateKernel(TF_OpKernelConstruction* ctx) {
  auto kernel = std::make_unique<Kernel>();
  Status status = NewStatus();
  float bias = 0, alpha = 0, beta = 0;
  int64_t depth_radius = 0;
  TF_OpKernelConstruction_GetAttrInt64(ctx, "depth_radius", &depth_radius, status.get());
  if (Failed(ctx, status)) return nullptr;
  // TF's window is symmetric; the OpDef already refuses a negative radius.
  if (depth_radius > 0x7fffffff) {
    Fail(ctx, "depth_radius must be less than 2**31, got " + std::to_string(depth_radius));
    return nullptr;
  }
  kernel->params.before = kernel->params.after = depth_radius;
  const std::pair<const char*, float*> floats[] = {{"bias", &bias}, {"alpha", &alpha}, {"beta", &beta}};
  for (const auto& [name, value] : floats) {
    TF_OpKernelConstruction_GetAttrFloat(ctx, name, value, status.get());
    if (Failed(ctx, status)) return nullptr;
  }
  std::string data_format, exact;
  if (!StringAttr(ctx, "data_format", &data_format) || !StringAttr(ctx, "exact_bias_alpha_beta", &exact)) {
    return nullptr;
  }
  kernel->params.bias = bias;
  kernel->params.alpha = alpha;
  kernel->params.beta = beta;
  // lrn_op's ops carry bias, alpha and beta at double precision too (tf_ops.cc); TF's own and older graphs don't.
  std::string problem = exact.empty() ? "" : lrn::parse_exact_params(exact, bias, alpha, beta, &kernel->params);
  if (problem.empty()) problem = lrn::check_params(kernel->params);
  if (problem.empty() && !data_format.empty() && data_format != "NHWC" && data_format != "NCHW") {
    problem = "data_format must be 'NHWC' or 'NCHW', got '" + data_format + "'";
  }
  if (!problem.empty()) {
    Fail(ctx, problem);
    return nullptr;
  }
  kernel->channels_first = data_format == "NCHW";
  return kernel.release();
}

void* Create(TF_OpKernelConstruction* ctx) {
  void* kernel = nullptr;
  Guarded([&] { kernel = CreateKernel(ctx); },
          FailTo(ctx, &TF_OpKernelConstruction_Failure));
  return kernel;
}

void Delete(void* kernel) { delete static_cast<Kernel*>(kernel); }

lrn::DType DTypeOf(TF_DataType type) {
  switch (type) {
    case TF_HALF: return lrn::DType::kF16;
    case TF_BFLOAT16: return lrn::DType::kBF16;
    case TF_FLOAT: return lrn::DType::kF32;
    case TF_DOUBLE: return lrn::DType::kF64;
    default: return lrn::DType::kUnsupported;
  }
}

// A tensor as lrn_api.h's entry sees it.
lrn::Operand OperandOf(const char* name, const TF_Tensor* tensor) {
  lrn::Operand operand;
  operand.name = name;
  operand.dtype = DTypeOf(TF_TensorType(tensor));
  if (operand.dtype == lrn::DType::kUnsupported) {
    operand.type_name = "TF_DataType " + std::to_string(TF_TensorType(tensor));
  }
  for (int axis = 0; axis < TF_NumDims(tensor); ++axis) operand.dims.push_back(TF_Dim(tensor, axis));
  operand.data = TF_TensorData(tensor);
  return operand;
}

TF_Code CodeOf(lrn::Code code) {
  switch (code) {
    case lrn::Code::kOk: return TF_OK;
    case lrn::Code::kInvalidArgument:
    case lrn::Code::kWrongType: return TF_INVALID_ARGUMENT;
    case lrn::Code::kOutOfMemory: return TF_RESOURCE_EXHAUSTED;
    default: return TF_INTERNAL;
  }
}

// Runs the request with inputs `names` (x is the one named by `x_index`) into output 0, allocated with x's shape.
template <int kInputs>
void Compute(void* kernel_ptr, TF_OpKernelContext* ctx, lrn::Direction direction, const char* const (&names)[kInputs],
             int x_index) {
  auto* kernel = static_cast<Kernel*>(kernel_ptr);
  Status status = NewStatus();
  Tensor inputs[kInputs];
  for (int i = 0; i < kInputs; ++i) {
    TF_Tensor* input = nullptr;
    TF_GetInput(ctx, i, &input, status.get());
    inputs[i].reset(input);
    if (TF_GetCode(status.get()) != TF_OK) return TF_OpKernelContext_Failure(ctx, status.get());
  }
  const TF_Tensor* x = inputs[x_index].get();
  lrn::Request request;
  request.direction = direction;
  request.params = kernel->params;
  request.channels_first = kernel->channels_first;
  request.rank = 4;  // tf.nn.lrn's signature
  request.x = OperandOf(names[x_index], x);
  const std::vector<int64_t>& dims = request.x.dims;
  Tensor output(TF_AllocateOutput(ctx, 0, TF_TensorType(x), dims.data(), static_cast<int>(dims.size()),
                                  TF_TensorByteSize(x), status.get()));
  if (TF_GetCode(status.get()) != TF_OK) return TF_OpKernelContext_Failure(ctx, status.get());
  if (direction == lrn::Direction::kBackward) {
    request.dy = OperandOf(names[0], inputs[0].get());
    request.y = OperandOf(names[2], inputs[2].get());
  }
  request.out = OperandOf("output", output.get());
  request.threads.max_threads = thread_limit.load(std::memory_order_relaxed);
  const lrn::Status result = lrn::compute(request);
  if (result.ok()) return;
  TF_SetStatus(status.get(), CodeOf(result.code), result.message.c_str());
  TF_OpKernelContext_Failure(ctx, status.get());
}

template <int kInputs>
void GuardedCompute(void* kernel, TF_OpKernelContext* ctx, lrn::Direction direction,
                    const char* const (&names)[kInputs], int x_index) {
  Guarded([&] { Compute(kernel, ctx, direction, names, x_index); },
          FailTo(ctx, &TF_OpKernelContext_Failure));
}

void ComputeForward(void* kernel, TF_OpKernelContext* ctx) {
  static const char* const kNames[] = {"input"};
  GuardedCompute(kernel, ctx, lrn::Direction::kForward, kNames, 0);
}

void ComputeBackward(void* kernel, TF_OpKernelContext* ctx) {
  static const char* const kNames[] = {"input_grads", "input_image", "output_image"};
  GuardedCompute(kernel, ctx, lrn::Direction::kBackward, kNames, 1);
}

void RegisterEach(const char* forward_op, const char* grad_op, std::initializer_list<TF_DataType> dtypes,
                  int priority) {
  for (const auto& [op, compute] : {std::pair{forward_op, &ComputeForward}, std::pair{grad_op, &ComputeBackward}}) {
    for (TF_DataType dtype : dtypes) {
      Status status = NewStatus();
      TF_KernelBuilder* builder = TF_NewKernelBuilder(op, "CPU", &Create, compute, &Delete);
      TF_KernelBuilder_TypeConstraint(builder, "T", dtype, status.get());
      if (TF_GetCode(status.get()) == TF_OK) {
        TF_KernelBuilder_Priority(builder, priority);
        // TF takes the builder, whether it registers it or not.
        TF_RegisterKernelBuilder((std::string(op) + " CPU " + std::to_string(dtype)).c_str(), builder, status.get());
      } else {
        TF_DeleteKernelBuilder(builder);
      }
      if (TF_GetCode(status.get()) != TF_OK) {
        std::fprintf(stderr, "lrn_op: no CPU kernel for %s, TF_DataType %d: %s\n", op, dtype,
                     TF_Message(status.get()));
      }
    }
  }
}

}  // namespace

void RegisterKernels(const char* forward_op, const char* grad_op, std::initializer_list<TF_DataType> dtypes,
                     int priority) {
  Guarded([&] { RegisterEach(forward_op, grad_op, dtypes, priority); },
          [&](TF_Code, const char* message) {
            std::fprintf(stderr, "lrn_op: no CPU kernels for %s and %s: %s\n", forward_op, grad_op, message);
          });
}

}  // namespace lrn_tf

// At most this many threads per call, 0 for every CPU the process may use. Each library that includes this file has
// its own limit, and exports this function to set it (through ctypes).
extern "C" __attribute__((visibility("default"))) void LrnOpSetThreadLimit(int threads) {
  lrn_tf::thread_limit.store(threads, std::memory_order_relaxed);
}
