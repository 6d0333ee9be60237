// Registration of the two ops and their shape functions. The names are namespaced ("LrnOp>") so that they can
// never collide with TF's own LRN and LRNGrad. The kernels are in tf_kernels.cc.
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace {

using tensorflow::shape_inference::InferenceContext;
using tensorflow::shape_inference::ShapeHandle;

// The attributes of both ops. bias, alpha and beta are float32, as in TF's LRN.
#define LRN_ATTRS                                 \
  Attr("depth_radius: int >= 0 = 5")              \
      .Attr("bias: float = 1.0")                  \
      .Attr("alpha: float = 1.0")                 \
      .Attr("beta: float = 0.5")                  \
      .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'") \
      .Attr("T: {half, bfloat16, float, double} = DT_FLOAT")

tensorflow::Status ForwardShape(InferenceContext* c) {
  ShapeHandle input;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &input));
  c->set_output(0, input);
  return tensorflow::OkStatus();
}

// The three inputs must agree: each is rank 4 and their known dimensions match.
tensorflow::Status GradShape(InferenceContext* c) {
  ShapeHandle merged;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &merged));
  for (int i = 1; i < 3; ++i) {
    ShapeHandle input;
    TF_RETURN_IF_ERROR(c->WithRank(c->input(i), 4, &input));
    TF_RETURN_IF_ERROR(c->Merge(merged, input, &merged));
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
