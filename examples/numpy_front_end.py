"""lrn_op.numpy: the kernels on numpy arrays, with no framework at all; `out=` reuses a buffer."""
import numpy as np

import lrn_op.numpy

x = np.array([[[[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]],
               [[4, 3, 2, 1, 8, 7, 6, 5], [1, 2, 3, 4, 5, 6, 7, 8]]]], np.float32)
y = lrn_op.numpy.local_response_normalization(x, depth_radius=2, bias=0.0, alpha=1.0, beta=1.0)
print(y[0, 0, 0, 0], y[0, 0, 0, 3])  # 1/(1+4+9) and 4/(4+9+16+25+36)

dy = np.ones_like(x)
dx = lrn_op.numpy.local_response_normalization_grad(dy, x, y, depth_radius=2, bias=0.0, alpha=1.0, beta=1.0)
buffer = np.empty_like(x)
lrn_op.numpy.local_response_normalization(2 * x, depth_radius=2, bias=0.0, alpha=1.0, beta=1.0, out=buffer)
print(dx.shape, buffer.dtype, lrn_op.numpy.simd_path())

# ONNX's LRN (size, alpha / size, bias) on an (N, C, L) array; convention="torch" takes PyTorch's window instead.
signal = np.random.default_rng(0).standard_normal((4, 16, 100)).astype(np.float32)
onnx_y = lrn_op.numpy.local_response_norm(signal, size=4, alpha=1e-4, beta=0.75, k=1.0, convention="onnx")
print(onnx_y.shape)
