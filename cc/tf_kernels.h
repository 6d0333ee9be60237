// The CPU OpKernels: validate -> allocate -> shard tiles over TF's worker pool -> lrn_api.h. Two libraries register
// them: _lrn_ops.so for lrn_op's own ops (tf_kernels.cc), and _lrn_builtin_kernels.so for TF's own LRN and LRNGrad
// (tf_builtin_kernels.cc), whose attributes are the same but for data_format, which TF's ops do not have (NHWC).
#pragma once

#include <atomic>
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

// TF's element types as lrn_api.h names the same bits.
template <class T>
struct ApiElement {
  using type = T;
};
template <>
struct ApiElement<Eigen::half> {
  using type = lrn::f16;
};
template <>
struct ApiElement<Eigen::bfloat16> {
  using type = lrn::bf16;
};

template <class T>
const typename ApiElement<T>::type* in_data(const Tensor& t) {
  return reinterpret_cast<const typename ApiElement<T>::type*>(t.flat<T>().data());
}
template <class T>
typename ApiElement<T>::type* out_data(Tensor* t) {
  return reinterpret_cast<typename ApiElement<T>::type*>(t->flat<T>().data());
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
  // Checks that `t` is a 4-D tensor and returns its layout.
  bool CheckedLayout(OpKernelContext* ctx, const Tensor& t, const char* name, lrn::Layout* layout) {
    if (t.dims() != 4) {
      ctx->CtxFailure(__FILE__, __LINE__,
                      errors::InvalidArgument(name, " must be 4-dimensional, got shape ", t.shape().DebugString()));
      return false;
    }
    const int64_t dims[4] = {t.dim_size(0), t.dim_size(1), t.dim_size(2), t.dim_size(3)};
    *layout = lrn::layout_of(dims, channels_first_);
    return true;
  }

  // Runs body(begin, end) over all tiles on TF's CPU worker pool. Tiles are independent, so the result does not
  // depend on how many threads the pool has.
  template <class Body>
  void Shard(OpKernelContext* ctx, const lrn::Layout& layout, Body body) {
    const auto& workers = *ctx->device()->tensorflow_cpu_worker_threads();
    std::atomic<bool> ok{true};
    tensorflow::Shard(workers.num_threads, workers.workers, lrn::num_tiles(layout), lrn::tile_cost(layout),
                      [&](int64_t begin, int64_t end) {
                        if (!body(begin, end)) ok = false;
                      });
    OP_REQUIRES(ctx, ok, errors::ResourceExhausted("out of memory for the LRN scratch of depth ", layout.depth));
  }

  lrn::Params params_;
  bool channels_first_ = false;
};

template <class T>
class ForwardOp : public LrnKernel {
 public:
  using LrnKernel::LrnKernel;

  void Compute(OpKernelContext* ctx) override {
    const Tensor& input = ctx->input(0);
    lrn::Layout layout;
    if (!CheckedLayout(ctx, input, "input", &layout)) return;
    Tensor* output = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, input.shape(), &output));
    if (input.NumElements() == 0) return;
    const auto* x = in_data<T>(input);
    auto* y = out_data<T>(output);
    Shard(ctx, layout, [&](int64_t begin, int64_t end) { return lrn::forward(x, y, layout, params_, begin, end); });
  }
};

template <class T>
class GradOp : public LrnKernel {
 public:
  using LrnKernel::LrnKernel;

  void Compute(OpKernelContext* ctx) override {
    const Tensor& dy = ctx->input(0);
    const Tensor& x = ctx->input(1);
    const Tensor& y = ctx->input(2);
    lrn::Layout layout;
    if (!CheckedLayout(ctx, dy, "input_grads", &layout) || !CheckedLayout(ctx, x, "input_image", &layout) ||
        !CheckedLayout(ctx, y, "output_image", &layout)) {
      return;
    }
    OP_REQUIRES(ctx, dy.shape() == x.shape() && y.shape() == x.shape(),
                errors::InvalidArgument("input_grads, input_image and output_image must have the same shape, got ",
                                        dy.shape().DebugString(), ", ", x.shape().DebugString(), " and ",
                                        y.shape().DebugString()));
    Tensor* output = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &output));
    if (x.NumElements() == 0) return;
    const auto* g = in_data<T>(dy);
    const auto* in = in_data<T>(x);
    const auto* out = in_data<T>(y);
    auto* grad = out_data<T>(output);
    Shard(ctx, layout,
          [&](int64_t begin, int64_t end) { return lrn::backward(g, in, out, grad, layout, params_, begin, end); });
  }
};

}  // namespace
