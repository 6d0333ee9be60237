// Registration of the two ops and their shape functions. The names are namespaced ("LrnOp>") so that they can
// never collide with TF's own LRN and LRNGrad. The kernels are in tf_kernels.cc.
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace {

using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

// The attributes of both ops. bias, alpha and beta are float32, as in TF's LRN, since a TF `float` attribute is
// 32-bit; exact_bias_alpha_beta carries the same three at double precision, as the decimals Python writes for them
// ("0.1 0.0001 0.75"), readable in a graph dump and exact. The kernels use it when it is set (lrn_op's wrappers
// always set it); its empty default keeps graphs saved before it computing what they computed.
#define LRN_ATTRS                                         \
  Attr("depth_radius: int >= 0 = 5")                      \
      .Attr("bias: float = 1.0")                          \
      .Attr("alpha: float = 1.0")                         \
      .Attr("beta: float = 0.5")                          \
      .Attr("exact_bias_alpha_beta: string = ''")         \
      .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")     \
      .Attr("T: {half, bfloat16, float, double} = DT_FLOAT")

// Input `index` as a rank-4 shape, or an error that names the argument.
tensorflow::Status Rank4(InferenceContext* c, int index, const char* name, ShapeHandle* shape) {
  if (!c->WithRank(c->input(index), 4, shape).ok()) {
    return tensorflow::errors::InvalidArgument(name, " must be 4-dimensional, got shape ",
                                               c->DebugString(c->input(index)));
  }
  return tensorflow::OkStatus();
}

tensorflow::Status ForwardShape(InferenceContext* c) {
  ShapeHandle input;
  TF_RETURN_IF_ERROR(Rank4(c, 0, "input", &input));
  c->set_output(0, input);
  return tensorflow::OkStatus();
}

// The three inputs must agree: each is rank 4 and their known dimensions match.
tensorflow::Status GradShape(InferenceContext* c) {
  const char* names[3] = {"input_grads", "input_image", "output_image"};
  ShapeHandle shapes[3];
  for (int i = 0; i < 3; ++i) TF_RETURN_IF_ERROR(Rank4(c, i, names[i], &shapes[i]));
  ShapeHandle merged = shapes[0];
  for (int i = 1; i < 3; ++i) {
    if (!c->Merge(merged, shapes[i], &merged).ok()) {
      return tensorflow::errors::InvalidArgument(
          "input_grads, input_image and output_image must have the same shape, got ", c->DebugString(shapes[0]),
          ", ", c->DebugString(shapes[1]), " and ", c->DebugString(shapes[2]));
    }
  }
  c->set_output(0, merged);
  return tensorflow::OkStatus();
}

}  // namespace

REGISTER_OP("LrnOp>LocalResponseNormalization")
    .Input("input: T")
    .Output("output: T")
    .LRN_ATTRS
    .SetShapeFn(ForwardShape)
    .Doc("Local Response Normalization over the channel axis, with the parameters of tf.nn.lrn.");

REGISTER_OP("LrnOp>LocalResponseNormalizationGrad")
    .Input("input_grads: T")
    .Input("input_image: T")
    .Input("output_image: T")
    .Output("output: T")
    .LRN_ATTRS
    .SetShapeFn(GradShape)
    .Doc("Gradient of LrnOp>LocalResponseNormalization, with the inputs of tf.raw_ops.LRNGrad.");
