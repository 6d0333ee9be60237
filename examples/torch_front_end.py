"""lrn_op.torch: the kernels as torch.library ops with autograd, in NCHW (PyTorch's layout), under torch.compile with
no graph break, with no TensorFlow. PyTorch's own convention: a drop-in for torch.nn.LocalResponseNorm, and
replace_builtin() for models that hold PyTorch's."""
import torch

import lrn_op.torch

images = torch.randn(8, 256, 27, 27, requires_grad=True)
y = lrn_op.torch.local_response_normalization(images, 2, 2.0, 1e-4, 0.75, data_format="NCHW")
y.square().sum().backward()

compiled = torch.compile(lambda t: lrn_op.torch.local_response_normalization(t, 2, 2.0, 1e-4, 0.75,
                                                                             data_format="NCHW"), fullgraph=True)
same = torch.equal(compiled(images.detach()), y.detach())

# PyTorch's convention (alpha divided by the size, its window for even sizes), any rank of 3 or more:
lrn = lrn_op.torch.LocalResponseNorm(4, alpha=5e-4, beta=0.75, k=2.0)  # as torch.nn.LocalResponseNorm(4, ...)
reference = torch.nn.LocalResponseNorm(4, alpha=5e-4, beta=0.75, k=2.0)(images.detach())
close = torch.allclose(lrn(images.detach()), reference, rtol=1e-5, atol=1e-6)

# A model that holds torch.nn.LocalResponseNorm runs lrn_op's kernels after one call, process-wide:
lrn_op.torch.replace_builtin()
model = torch.nn.Sequential(torch.nn.Conv2d(3, 96, 11, stride=4), torch.nn.ReLU(), torch.nn.LocalResponseNorm(5))
out = model(torch.randn(2, 3, 227, 227))
print(f"y {tuple(y.shape)}, grad {tuple(images.grad.shape)}; compiled gives the same: {same}; "
      f"matches torch.nn.LocalResponseNorm: {close}; replaced model: {out.grad_fn.name()}")
