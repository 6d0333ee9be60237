"""lrn_op.torch as a drop-in for PyTorch's LRN: replace_builtin() against PyTorch's own OpInfo samples, forward and
gradient; torch.compile(fullgraph=True) and torch.export of LocalResponseNorm; and torch.onnx.export, which gives one
ONNX LRN node for an odd size and PyTorch's own decomposition, with a warning, for an even one."""
import numpy as np
import pytest

import bounds
from conftest import run_python

torch = pytest.importorskip("torch")
import lrn_op.torch  # noqa: E402

# In a process of its own: replace_builtin() lasts for the process, and the other tests compare with PyTorch's own.
OPINFO_AFTER_REPLACE = """
import torch
from torch.testing._internal.common_methods_invocations import op_db
import lrn_op.torch

(op,) = [op for op in op_db if op.name == "nn.functional.local_response_norm"]
original = torch.nn.functional.local_response_norm
lrn_op.torch.replace_builtin()
lrn_op.torch.replace_builtin()  # a second call changes nothing
assert lrn_op.torch.replaced() and torch.nn.functional.local_response_norm is not original
ran = {}
for dtype in sorted(op.dtypes, key=str):
    grad = dtype.is_floating_point
    for sample in op.sample_inputs("cpu", dtype, requires_grad=grad):
        expected = original(sample.input, *sample.args, **sample.kwargs)
        # op itself holds the function PyTorch defined: a user's call goes through the module attribute.
        got = torch.nn.functional.local_response_norm(sample.input, *sample.args, **sample.kwargs)
        module = torch.nn.LocalResponseNorm(*sample.args, **sample.kwargs)(sample.input)
        tolerance = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}.get(dtype, 1e-6)
        torch.testing.assert_close(got, expected, rtol=tolerance, atol=tolerance)
        torch.testing.assert_close(module, got, rtol=0, atol=0)
        if grad and sample.input.numel():
            dy = torch.randn_like(expected)
            (want,) = torch.autograd.grad(expected, sample.input, dy)
            (have,) = torch.autograd.grad(got, sample.input, dy)
            torch.testing.assert_close(have, want, rtol=tolerance, atol=tolerance)
        ran[str(dtype)] = ran.get(str(dtype), 0) + 1
# The floating dtypes ran lrn_op's kernel (its autograd node), int64 PyTorch's own code.
x = torch.randn(2, 6, 3, requires_grad=True)
assert "lrn_op" in type(torch.nn.functional.local_response_norm(x, 2).grad_fn).__name__.lower() or \\
    torch.nn.functional.local_response_norm(x, 2).grad_fn.name().startswith("lrn_op")
print(sorted(ran.items()))
"""


def test_replace_builtin_passes_pytorchs_opinfo_samples():
    result = run_python(OPINFO_AFTER_REPLACE)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = dict(eval(result.stdout.splitlines()[-1]))  # noqa: S307 - our own subprocess's list of pairs
    assert set(ran) == {"torch.bfloat16", "torch.float16", "torch.float32", "torch.float64", "torch.int64"}
    assert min(ran.values()) >= 10


def test_replaced_layers_run_lrn_ops_kernel_and_keep_pytorchs_elsewhere():
    # The floating dtypes run lrn_op's kernel (its autograd node names it); int64 keeps PyTorch's own code, whose
    # result is what PyTorch alone gives.
    result = run_python("import torch, lrn_op.torch\n"
                        "integers = torch.arange(2 * 6 * 25).reshape(2, 6, 5, 5)\n"
                        "before = torch.nn.LocalResponseNorm(4)(integers)\n"
                        "lrn_op.torch.replace_builtin()\n"
                        "layer = torch.nn.LocalResponseNorm(4)\n"
                        "y = layer(torch.randn(2, 6, 5, 5, requires_grad=True))\n"
                        "print(y.grad_fn.name(), torch.equal(layer(integers), before))\n")
    assert result.returncode == 0, result.stderr[-3000:]
    node, same = result.stdout.split()[-2:]
    assert "lrn_op" in node and same == "True"


@pytest.mark.parametrize("size", [3, 4])
def test_compile_fullgraph_and_export(rng, size):
    torch._dynamo.reset()  # a fresh compile, whatever the suite compiled before in this process
    module = lrn_op.torch.LocalResponseNorm(size, alpha=0.5, beta=0.75, k=2.0)
    x = torch.from_numpy(rng.standard_normal((2, 8, 5, 5)).astype(np.float32))
    eager = module(x)
    compiled = torch.compile(module, fullgraph=True)(x)
    assert torch.equal(compiled, eager)
    exported = torch.export.export(module, (x,))
    assert any("lrn_op" in str(node.target) for node in exported.graph.nodes)
    assert torch.equal(exported.module()(x), eager)
    bounds.assert_forward(eager.numpy(), torch.nn.functional.local_response_norm(x.double(), size, 0.5, 0.75,
                                                                                 2.0).numpy(), np.float32)


def export_to_onnx(module, x, path):
    torch.onnx.export(module, (x,), str(path), dynamo=True)
    import onnx

    return onnx.load(str(path))


def run_onnx(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


class Net(torch.nn.Module):
    def __init__(self, size):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.lrn = lrn_op.torch.LocalResponseNorm(size, alpha=0.5, beta=0.75, k=2.0)

    def forward(self, x):
        return self.lrn(torch.relu(self.conv(x)))


def test_onnx_export_gives_one_lrn_node_for_an_odd_size(tmp_path, rng):
    torch.manual_seed(0)
    net = Net(5).eval()
    x = torch.from_numpy(rng.standard_normal((2, 3, 9, 9)).astype(np.float32))
    model = export_to_onnx(net, x, tmp_path / "net.onnx")
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("LRN") == 1, ops
    (lrn,) = [node for node in model.graph.node if node.op_type == "LRN"]
    import onnx.helper

    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in lrn.attribute}
    assert attrs == pytest.approx({"size": 5, "alpha": 0.5, "beta": 0.75, "bias": 2.0})
    with torch.no_grad():
        expected = net(x).numpy()
    # The convolution before the LRN is ONNX Runtime's own, whose float32 sums round their own way: the results
    # agree to 1e-5 of the largest.
    assert bounds.gradient_error(run_onnx(tmp_path / "net.onnx", x), expected) <= 1e-5


def test_onnx_export_of_an_even_size_says_it_decomposes_and_computes_the_same(tmp_path, rng):
    torch.manual_seed(0)
    net = Net(4).eval()
    x = torch.from_numpy(rng.standard_normal((2, 3, 9, 9)).astype(np.float32))
    with pytest.warns(UserWarning, match="size 4 is even, and ONNX's LRN centres an even window"):
        model = export_to_onnx(net, x, tmp_path / "net.onnx")
    assert "LRN" not in [node.op_type for node in model.graph.node]
    with torch.no_grad():
        expected = net(x).numpy()
    # The convolution before the LRN is ONNX Runtime's own, whose float32 sums round their own way: the results
    # agree to 1e-5 of the largest.
    assert bounds.gradient_error(run_onnx(tmp_path / "net.onnx", x), expected) <= 1e-5


def test_bad_arguments_are_refused_with_their_names():
    x = torch.randn(2, 6, 3)
    with pytest.raises(ValueError, match="size must be a positive integer less than 2\\*\\*31, got 0"):
        lrn_op.torch.local_response_norm(x, 0)
    with pytest.raises(TypeError, match="size must be a positive integer, got 2.5"):
        lrn_op.torch.LocalResponseNorm(2.5)
    with pytest.raises(ValueError, match="k must be a finite number, got inf"):
        lrn_op.torch.local_response_norm(x, 3, k=float("inf"))
    with pytest.raises(ValueError, match="input must be at least 3-dimensional"):
        lrn_op.torch.local_response_norm(torch.randn(2, 6), 3)
