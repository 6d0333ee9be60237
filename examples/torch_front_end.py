"""lrn_op.torch: the kernels as torch.library ops with autograd, in NCHW (PyTorch's layout), under torch.compile with
no graph break, with no TensorFlow."""
import torch

import lrn_op.convert
import lrn_op.torch

images = torch.randn(8, 256, 27, 27, requires_grad=True)
y = lrn_op.torch.local_response_normalization(images, 2, 2.0, 1e-4, 0.75, data_format="NCHW")
y.square().sum().backward()

compiled = torch.compile(lambda t: lrn_op.torch.local_response_normalization(t, 2, 2.0, 1e-4, 0.75,
                                                                             data_format="NCHW"), fullgraph=True)
same = torch.equal(compiled(images.detach()), y.detach())

# torch.nn.LocalResponseNorm divides alpha by the window size; lrn_op.convert translates its parameters.
params = lrn_op.convert.from_torch(5, alpha=5e-4, beta=0.75, k=2.0)
reference = torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(images.detach())
close = torch.allclose(lrn_op.torch.local_response_normalization(images.detach(), **params, data_format="NCHW"),
                       reference, rtol=1e-5, atol=1e-6)
print(f"y {tuple(y.shape)}, grad {tuple(images.grad.shape)}; compiled gives the same: {same}; "
      f"matches torch.nn.LocalResponseNorm: {close}")
