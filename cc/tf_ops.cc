// lrn_op's two ops, with their shape functions, and their CPU kernels (tf_kernels.cc), registered through TF's C API
// when TF loads this library. The names are namespaced ("LrnOp>") so that they can never collide with TF's own LRN
// and LRNGrad.
#include <cstdio>
#include <memory>
#include <string>

#include "tf_c_api.h"
#include "tf_kernels.h"

namespace {

using lrn_tf::Dimension;
using lrn_tf::Shape;

constexpr const char* kForwardOp = "LrnOp>LocalResponseNormalization";
constexpr const char* kGradOp = "LrnOp>LocalResponseNormalizationGrad";

// The attributes of both ops. bias, alpha and beta are float32, as in TF's LRN, since a TF `float` attribute is
// 32-bit; exact_bias_alpha_beta carries the same three at double precision, as the decimals Python writes for them
// ("0.1 0.0001 0.75"), readable in a graph dump and exact. The kernels use it when it is set (lrn_op's wrappers
// always set it); its empty default keeps graphs saved before it computing what they computed.
constexpr const char* kAttrs[] = {
    "depth_radius: int >= 0 = 5",
    "bias: float = 1.0",
    "alpha: float = 1.0",
    "beta: float = 0.5",
    "exact_bias_alpha_beta: string = ''",
    "data_format: {'NHWC', 'NCHW'} = 'NHWC'",
    "T: {half, bfloat16, float, double} = DT_FLOAT",
};

// The size of dimension `axis`, or -1 where it is unknown.
int64_t DimOf(TF_ShapeInferenceContext* ctx, TF_ShapeHandle* shape, int64_t axis) {
  Dimension dimension(TF_NewDimensionHandle());
  TF_ShapeInferenceContextDim(ctx, shape, axis, dimension.get());
  return TF_DimensionHandleValueKnown(dimension.get()) ? TF_DimensionHandleValue(dimension.get()) : -1;
}

// A shape as Python writes a tuple, None for an unknown size: "(2, None, 4)"; "<unknown>" for an unknown rank.
std::string ShapeText(TF_ShapeInferenceContext* ctx, TF_ShapeHandle* shape) {
  if (!TF_ShapeInferenceContextRankKnown(ctx, shape)) return "<unknown>";
  const int64_t rank = TF_ShapeInferenceContextRank(ctx, shape);
  std::string text = "(";
  for (int64_t axis = 0; axis < rank; ++axis) {
    const int64_t size = DimOf(ctx, shape, axis);
    text += (axis ? ", " : "") + (size < 0 ? std::string("None") : std::to_string(size));
  }
  return text + (rank == 1 ? ",)" : ")");
}

// Input `index` as a rank-4 shape, or an error in `status` that names the argument.
Shape Rank4(TF_ShapeInferenceContext* ctx, int index, const char* name, TF_Status* status) {
  Shape input(TF_NewShapeHandle()), result(TF_NewShapeHandle());
  TF_ShapeInferenceContextGetInput(ctx, index, input.get(), status);
  if (TF_GetCode(status) != TF_OK) return nullptr;
  TF_ShapeInferenceContextWithRank(ctx, input.get(), 4, result.get(), status);
  if (TF_GetCode(status) != TF_OK) {
    const std::string message = std::string(name) + " must be 4-dimensional, got shape " + ShapeText(ctx, input.get());
    TF_SetStatus(status, TF_INVALID_ARGUMENT, message.c_str());
    return nullptr;
  }
  return result;
}

void ForwardShapeOf(TF_ShapeInferenceContext* ctx, TF_Status* status) {
  Shape input = Rank4(ctx, 0, "input", status);
  if (input) TF_ShapeInferenceContextSetOutput(ctx, 0, input.get(), status);
}

// The three inputs must agree: each is rank 4 and their known sizes match. The output takes each size from whichever
// input knows it.
void GradShapeOf(TF_ShapeInferenceContext* ctx, TF_Status* status) {
  const char* names[3] = {"input_grads", "input_image", "output_image"};
  Shape shapes[3];
  for (int i = 0; i < 3; ++i) {
    shapes[i] = Rank4(ctx, i, names[i], status);
    if (!shapes[i]) return;
  }
  Shape merged;
  for (int64_t axis = 0; axis < 4; ++axis) {
    int known = 0;
    for (int i = 1; i < 3; ++i) {
      const int64_t size = DimOf(ctx, shapes[i].get(), axis), seen = DimOf(ctx, shapes[known].get(), axis);
      if (size >= 0 && seen >= 0 && size != seen) {
        const std::string message = "input_grads, input_image and output_image must have the same shape, got " +
                                    ShapeText(ctx, shapes[0].get()) + ", " + ShapeText(ctx, shapes[1].get()) +
                                    " and " + ShapeText(ctx, shapes[2].get());
        TF_SetStatus(status, TF_INVALID_ARGUMENT, message.c_str());
        return;
      }
      if (seen < 0 && size >= 0) known = i;
    }
    Shape piece(TF_NewShapeHandle());
    TF_ShapeInferenceContextSubshape(ctx, shapes[known].get(), axis, axis + 1, piece.get(), status);
    if (TF_GetCode(status) != TF_OK) return;
    if (merged) {
      Shape longer(TF_NewShapeHandle());
      TF_ShapeInferenceContextConcatenateShapes(ctx, merged.get(), piece.get(), longer.get(), status);
      if (TF_GetCode(status) != TF_OK) return;
      merged = std::move(longer);
    } else {
      merged = std::move(piece);
    }
  }
  TF_ShapeInferenceContextSetOutput(ctx, 0, merged.get(), status);
}

// The shape functions as TF calls them, with no C++ exception crossing back into TF.
template <void (*ShapeOf)(TF_ShapeInferenceContext*, TF_Status*)>
void GuardedShape(TF_ShapeInferenceContext* ctx, TF_Status* status) {
  lrn_tf::Guarded([&] { ShapeOf(ctx, status); },
                  [&](TF_Code code, const char* message) { TF_SetStatus(status, code, message); });
}

void RegisterOp(const char* name, std::initializer_list<const char*> inputs,
                void (*shape)(TF_ShapeInferenceContext*, TF_Status*)) {
  TF_OpDefinitionBuilder* builder = TF_NewOpDefinitionBuilder(name);
  for (const char* input : inputs) TF_OpDefinitionBuilderAddInput(builder, input);
  TF_OpDefinitionBuilderAddOutput(builder, "output: T");
  for (const char* attr : kAttrs) TF_OpDefinitionBuilderAddAttr(builder, attr);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(builder, shape);
  lrn_tf::Status status = lrn_tf::NewStatus();
  TF_RegisterOpDefinition(builder, status.get());  // frees the builder
  if (TF_GetCode(status.get()) != TF_OK) {
    std::fprintf(stderr, "lrn_op: could not register the op %s: %s\n", name, TF_Message(status.get()));
  }
}

// Runs when TF loads the library (tf.load_op_library).
[[maybe_unused]] const bool kRegistered = [] {
  lrn_tf::Guarded(
      [] {
        RegisterOp(kForwardOp, {"input: T"}, &GuardedShape<ForwardShapeOf>);
        RegisterOp(kGradOp, {"input_grads: T", "input_image: T", "output_image: T"}, &GuardedShape<GradShapeOf>);
      },
      [](TF_Code, const char* message) { std::fprintf(stderr, "lrn_op: could not register its ops: %s\n", message); });
  lrn_tf::RegisterKernels(kForwardOp, kGradOp, {TF_HALF, TF_BFLOAT16, TF_FLOAT, TF_DOUBLE}, 0);
  return true;
}();

}  // namespace
