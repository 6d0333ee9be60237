"""Parameters of other frameworks' LRN as keyword arguments of lrn_op's.

PyTorch (`torch.nn.LocalResponseNorm`), Caffe (`LRN`, ACROSS_CHANNELS) and ONNX (`LRN`) all compute

    x / (k + alpha / size * sum of x^2 over `size` channels centred on c) ** beta

TF, and so lrn_op, does not divide alpha by the window size, and names the half-width: depth_radius = (size - 1) / 2.
An even size has no symmetric window, so it has no TF equivalent.

    >>> lrn_op.convert.from_torch(5, alpha=1e-4, beta=0.75, k=2.0)
    {'depth_radius': 2, 'bias': 2.0, 'alpha': 2e-05, 'beta': 0.75}
"""


def _convert(size_name, size, alpha, beta, bias):
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"{size_name} must be a positive integer, got {size!r}")
    if size % 2 == 0:
        raise ValueError(f"{size_name} must be odd: TF's window is symmetric, [c - r, c + r], so a window of "
                         f"{size} channels has no equivalent")
    return {"depth_radius": (size - 1) // 2, "bias": float(bias), "alpha": float(alpha) / size, "beta": float(beta)}


def from_torch(size, alpha=1e-4, beta=0.75, k=1.0):
    """The arguments of `torch.nn.LocalResponseNorm(size, alpha, beta, k)` (same defaults)."""
    return _convert("size", size, alpha, beta, k)


def from_caffe(local_size, alpha, beta, k):
    """The arguments of a Caffe LRN layer with norm_region ACROSS_CHANNELS (Caffe's defaults: 5, 1, 0.75, 1)."""
    return _convert("local_size", local_size, alpha, beta, k)


def from_onnx(size, alpha, beta, bias):
    """The attributes of an ONNX LRN node (ONNX's defaults: alpha 1e-4, beta 0.75, bias 1; size has none). ONNX
    tensors are NCHW: pass data_format="NCHW" to lrn_op.local_response_normalization as well."""
    return _convert("size", size, alpha, beta, bias)
