// The CPU OpKernels: thin callers of lrn_api.h's entry, on TF's worker pool. Two libraries register
// them: _lrn_ops.so for lrn_op's own ops (tf_kernels.cc), and _lrn_builtin_kernels.so for TF's own LRN and LRNGrad
// (tf_builtin_kernels.cc), whose attributes are the same but for data_format, which TF's ops do not have (NHWC).
#pragma once

#include <string>

#include "lrn_api.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/util/work_sharder.h"

// Each library includes this header from one file, so an unnamed namespace keeps the two copies apart.
namespace {

using tensorflow::DEVICE_CPU;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
namespace errors = tensorflow::errors;

// A tensor as lrn_api.h's entry sees it.
lrn::Operand OperandOf(const char* name, const Tensor& t) {
  lrn::Operand operand;
  operand.name = name;
  switch (t.dtype()) {
    case tensorflow::DT_HALF: operand.dtype = lrn::DType::kF16; break;
    case tensorflow::DT_BFLOAT16: operand.dtype = lrn::DType::kBF16; break;
    case tensorflow::DT_FLOAT: operand.dtype = lrn::DType::kF32; break;
    case tensorflow::DT_DOUBLE: operand.dtype = lrn::DType::kF64; break;
    default: operand.type_name = tensorflow::DataTypeString(t.dtype());
  }
  for (int axis = 0; axis < t.dims(); ++axis) operand.dims.push_back(t.dim_size(axis));
  operand.data = t.tensor_data().data();
  return operand;
}

// The attributes both ops share, read and checked once, when the kernel is built.
class LrnKernel : public OpKernel {
 public:
  explicit LrnKernel(OpKernelConstruction* ctx) : OpKernel(ctx) {
    float bias, alpha, beta;
    std::string data_format = "NHWC", exact;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("depth_radius", &params_.depth_radius));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("bias", &bias));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("alpha", &alpha));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("beta", &beta));
    if (ctx->HasAttr("data_format")) OP_REQUIRES_OK(ctx, ctx->GetAttr("data_format", &data_format));
    if (ctx->HasAttr("exact_bias_alpha_beta")) OP_REQUIRES_OK(ctx, ctx->GetAttr("exact_bias_alpha_beta", &exact));
    params_.bias = bias;
    params_.alpha = alpha;
    params_.beta = beta;
    // lrn_op's ops carry bias, alpha and beta at double precision too (tf_ops.cc); TF's own and older graphs don't.
    if (!exact.empty()) {
      const std::string problem = lrn::parse_exact_params(exact, bias, alpha, beta, &params_);
      OP_REQUIRES(ctx, problem.empty(), errors::InvalidArgument(problem));
    }
    const std::string problem = lrn::check_params(params_);
    OP_REQUIRES(ctx, problem.empty(), errors::InvalidArgument(problem));
    OP_REQUIRES(ctx, data_format == "NHWC" || data_format == "NCHW",
                errors::InvalidArgument("data_format must be 'NHWC' or 'NCHW', got '", data_format, "'"));
    channels_first_ = data_format == "NCHW";
  }

 protected:
  // Runs the request on TF's CPU worker pool, its output allocated with `like`'s shape, and reports its status.
  void Compute(OpKernelContext* ctx, lrn::Request& request, const Tensor& like) {
    Tensor* output = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, like.shape(), &output));
    request.params = params_;
    request.channels_first = channels_first_;
    request.out = OperandOf("output", *output);
    const auto& workers = *ctx->device()->tensorflow_cpu_worker_threads();
    request.threads.host_parallel_for = [&](int64_t tiles, int64_t cost, const lrn::TileBody& body) {
      tensorflow::Shard(workers.num_threads, workers.workers, tiles, cost, body);
    };
    const lrn::Status status = lrn::compute(request);
    switch (status.code) {
      case lrn::Code::kOk: return;
      case lrn::Code::kInvalidArgument:
      case lrn::Code::kWrongType: return ctx->CtxFailure(__FILE__, __LINE__, errors::InvalidArgument(status.message));
      case lrn::Code::kOutOfMemory:
        return ctx->CtxFailure(__FILE__, __LINE__, errors::ResourceExhausted(status.message));
      default: return ctx->CtxFailure(__FILE__, __LINE__, errors::Internal(status.message));
    }
  }

  lrn::Params params_;
  bool channels_first_ = false;
};

class ForwardOp : public LrnKernel {
 public:
  using LrnKernel::LrnKernel;

  void Compute(OpKernelContext* ctx) override {
    lrn::Request request;
    request.x = OperandOf("input", ctx->input(0));
    LrnKernel::Compute(ctx, request, ctx->input(0));
  }
};

class GradOp : public LrnKernel {
 public:
  using LrnKernel::LrnKernel;

  void Compute(OpKernelContext* ctx) override {
    lrn::Request request;
    request.direction = lrn::Direction::kBackward;
    request.dy = OperandOf("input_grads", ctx->input(0));
    request.x = OperandOf("input_image", ctx->input(1));
    request.y = OperandOf("output_image", ctx->input(2));
    LrnKernel::Compute(ctx, request, ctx->input(1));
  }
};

}  // namespace
