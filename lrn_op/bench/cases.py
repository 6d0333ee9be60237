"""The cases the benchmark times: the reference shapes, the wider sweep, the small tensors of the front-end table."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    shape: tuple
    depth_radius: int
    bias: float
    alpha: float
    beta: float
    dtype: str = "float32"
    data_format: str = "NHWC"

    def params(self):
        return dict(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta)


CASES = [
    Case("AlexNet LRN1", (32, 55, 55, 96), 2, 2.0, 1e-4, 0.75),
    Case("AlexNet LRN2", (32, 27, 27, 256), 2, 2.0, 1e-4, 0.75),
    Case("GoogLeNet", (32, 56, 56, 192), 2, 1.0, 2e-5, 0.75),
    Case("TF defaults", (16, 32, 32, 64), 5, 1.0, 1.0, 0.5),
]

# Regimes beyond the reference shapes. For NCHW, TF's column times what a TF user runs: a transpose to NHWC,
# tf.nn.lrn, and a transpose back. TF has no CPU LRN for float64 or bfloat16: those rows have no TF column and stay
# out of the "vs TF" geomeans.
SWEEP = [
    Case("radius 0", (16, 28, 28, 96), 0, 1.0, 1e-4, 0.75),
    Case("radius 1", (16, 28, 28, 96), 1, 1.0, 1e-4, 0.75),
    Case("radius 10", (16, 28, 28, 96), 10, 1.0, 1e-4, 0.75),
    Case("radius 50", (16, 28, 28, 128), 50, 1.0, 1e-4, 0.75),
    Case("radius 200", (4, 14, 14, 512), 200, 1.0, 1e-4, 0.75),
    Case("beta 0.5", (16, 28, 28, 96), 2, 1.0, 1e-4, 0.5),
    Case("beta 1", (16, 28, 28, 96), 2, 1.0, 1e-4, 1.0),
    Case("beta 0.6", (16, 28, 28, 96), 2, 1.0, 1e-4, 0.6),
    Case("beta 1.7", (16, 28, 28, 96), 2, 1.0, 1e-4, 1.7),
    Case("depth 3", (64, 56, 56, 3), 1, 1.0, 1e-4, 0.75),
    Case("depth 1024", (4, 14, 14, 1024), 5, 1.0, 1e-4, 0.75),
    Case("float16", (16, 28, 28, 96), 2, 2.0, 1e-4, 0.75, "float16"),
    Case("bfloat16", (16, 28, 28, 96), 2, 2.0, 1e-4, 0.75, "bfloat16"),
    Case("float64", (16, 28, 28, 96), 2, 2.0, 1e-4, 0.75, "float64"),
    Case("NCHW", (16, 28, 28, 96), 2, 2.0, 1e-4, 0.75, "float32", "NCHW"),
]

# Small tensors and batch 1, where a call's fixed costs (argument checks, conversions, waking threads) weigh most,
# and one large tensor, where they do not: the front-end table (`--front-ends`) times them through lrn_op.numpy and
# lrn_op.torch.
FRONT_END_CASES = [
    Case("batch 1, AlexNet LRN2", (1, 27, 27, 256), 2, 2.0, 1e-4, 0.75),
    Case("TF defaults", (16, 32, 32, 64), 5, 1.0, 1.0, 0.5),
    Case("tiny", (1, 4, 4, 16), 2, 2.0, 1e-4, 0.75),
    Case("AlexNet LRN1", (32, 55, 55, 96), 2, 2.0, 1e-4, 0.75),
]
