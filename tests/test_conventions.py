"""Every framework's LRN, exactly: PyTorch's convention (lrn_op.torch.local_response_norm and LocalResponseNorm, and
lrn_op.numpy / lrn_op.jax with convention="torch") against PyTorch itself for sizes 1 to 8 and ranks 3 to 5; ONNX's
convention against ONNX's operator specification written out here (not onnx.reference, which normalises over the
wrong axis), against ONNX's own backend test vectors and against ONNX Runtime; and lrn_op.convert between every pair
of conventions."""
import itertools

import numpy as np
import pytest

import bounds
import reference

SIZES = range(1, 9)
SHAPES = {3: (2, 9, 7), 4: (2, 9, 4, 5), 5: (2, 9, 3, 2, 4)}
PARAMS = dict(alpha=0.9, beta=0.75, k=1.5)  # an alpha large enough that a wrong window shows


def onnx_specification(x, size, alpha, beta, bias):
    """ONNX's LRN as its operator specification writes it, over axis 1 of (N, C, D1, ..., Dk):
    square_sum[n, c, d1, ..., dk] = sum(X[n, i, d1, ..., dk] ** 2) for i in
    [max(0, c - floor((size - 1) / 2)), min(C - 1, c + ceil((size - 1) / 2))];
    Y = X / (bias + alpha / size * square_sum) ** beta."""
    x = np.asarray(x, np.float64)
    channels = x.shape[1]
    square_sum = np.zeros_like(x)
    for c in range(channels):
        low, high = max(0, c - (size - 1) // 2), min(channels - 1, c + -(-(size - 1) // 2))
        square_sum[:, c] = (x[:, low:high + 1] ** 2).sum(axis=1)
    return x / (bias + alpha / size * square_sum) ** beta


def relative_error(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-300)))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("rank", sorted(SHAPES))
def test_torch_convention_matches_pytorch_in_float64(rng, size, rank):
    import torch

    import lrn_op.torch

    x = torch.from_numpy(rng.standard_normal(SHAPES[rank])).requires_grad_(True)
    dy = torch.from_numpy(rng.standard_normal(SHAPES[rank]))
    theirs = torch.nn.functional.local_response_norm(x, size, **PARAMS)
    (their_grad,) = torch.autograd.grad(theirs, x, dy)
    ours = lrn_op.torch.local_response_norm(x, size, **PARAMS)
    (our_grad,) = torch.autograd.grad(ours, x, dy)
    assert relative_error(ours.detach(), theirs.detach()) <= 1e-12
    assert bounds.gradient_error(our_grad, their_grad) <= 1e-12
    module = lrn_op.torch.LocalResponseNorm(size, **PARAMS)
    assert torch.equal(module(x), ours)
    assert repr(module) == repr(torch.nn.LocalResponseNorm(size, **PARAMS))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("rank", sorted(SHAPES))
@pytest.mark.parametrize("front_end", ["torch", "numpy", "jax"])
def test_torch_convention_in_float32_is_within_the_bounds(rng, front_end, size, rank):
    x = rng.standard_normal(SHAPES[rank]).astype(np.float32)
    dy = rng.standard_normal(SHAPES[rank]).astype(np.float32)
    before, after = reference.torch_window(size)
    args = (PARAMS["k"], PARAMS["alpha"] / size, PARAMS["beta"])
    expected = np.moveaxis(reference.lrn(np.moveaxis(x, 1, -1), before, *args, after=after), -1, 1)
    expected_grad = np.moveaxis(reference.lrn_grad(np.moveaxis(dy, 1, -1), np.moveaxis(x, 1, -1), before, *args,
                                                   after=after), -1, 1)
    y, grad = convention_call(front_end, x, dy, size, "torch")
    bounds.assert_forward(y, expected, np.float32)
    bounds.assert_gradient(grad, expected_grad, np.float32)


def convention_call(front_end, x, dy, size, convention):
    """(y, dx) through one front end's local_response_norm, its gradient by that front end's own means."""
    if front_end == "torch":
        import torch

        import lrn_op.torch

        assert convention == "torch"
        t = torch.from_numpy(x).requires_grad_(True)
        y = lrn_op.torch.local_response_norm(t, size, **PARAMS)
        (grad,) = torch.autograd.grad(y, t, torch.from_numpy(dy))
        return y.detach().numpy(), grad.numpy()
    if front_end == "numpy":
        import lrn_op.numpy

        y = lrn_op.numpy.local_response_norm(x, size, **PARAMS, convention=convention)
        return y, lrn_op.numpy.local_response_norm_grad(dy, x, y, size, **PARAMS, convention=convention)
    import jax
    import jax.numpy as jnp

    import lrn_op.jax

    y, pullback = jax.vjp(lambda t: lrn_op.jax.local_response_norm(t, size, **PARAMS, convention=convention),
                          jnp.asarray(x))
    return np.asarray(y), np.asarray(pullback(jnp.asarray(dy))[0])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("front_end", ["numpy", "jax"])
def test_onnx_convention_matches_onnxs_specification(rng, front_end, size):
    x = rng.standard_normal(SHAPES[4]).astype(np.float32)
    dy = rng.standard_normal(SHAPES[4]).astype(np.float32)
    y, _ = convention_call(front_end, x, dy, size, "onnx")
    bounds.assert_forward(y, onnx_specification(x, size, PARAMS["alpha"], PARAMS["beta"], PARAMS["k"]), np.float32)


def test_the_two_conventions_differ_for_even_sizes_alone(rng):
    import lrn_op.numpy

    x = rng.standard_normal(SHAPES[4])
    for size in SIZES:
        torch_y = lrn_op.numpy.local_response_norm(x, size, **PARAMS, convention="torch")
        onnx_y = lrn_op.numpy.local_response_norm(x, size, **PARAMS, convention="onnx")
        assert np.array_equal(torch_y, onnx_y) == (size % 2 == 1), size


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # collecting runs every operator's case generator
def test_onnx_backend_test_vectors():
    import onnx.backend.test.case.node as node_cases
    from onnx import helper

    import lrn_op.numpy

    cases = node_cases.collect_testcases("LRN")
    assert {case.name for case in cases} == {"test_lrn", "test_lrn_default"}
    for case in cases:
        (node,) = case.model.graph.node
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        for inputs, outputs in case.data_sets:
            y = lrn_op.numpy.local_response_norm(inputs[0], attrs["size"], attrs.get("alpha", 1e-4),
                                                 attrs.get("beta", 0.75), attrs.get("bias", 1.0), convention="onnx")
            # The vectors were computed in float32 by ONNX's own numpy code: both sides within float32's bound of
            # the exact value, so within twice of each other.
            assert bounds.forward_error(y, outputs[0], np.float32) <= 2 * bounds.FORWARD["float32"], case.name


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_onnx_runtime_agrees_on_odd_sizes(rng, size):
    import onnxruntime
    from onnx import TensorProto, helper

    import lrn_op.numpy

    x = rng.standard_normal(SHAPES[4]).astype(np.float32)
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=PARAMS["alpha"], beta=PARAMS["beta"],
                            bias=PARAMS["k"])
    graph = helper.make_graph([node], "lrn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (theirs,) = session.run(None, {"x": x})
    ours = lrn_op.numpy.local_response_norm(x, size, **PARAMS, convention="onnx")
    exact = onnx_specification(x, size, PARAMS["alpha"], PARAMS["beta"], PARAMS["k"])
    bounds.assert_forward(ours, exact, np.float32)
    # ONNX Runtime's own float32 arithmetic is further off the exact value than lrn_op's bound; it agrees to 1e-5.
    assert bounds.forward_error(theirs, exact, np.float32) <= 1e-5


CONVENTION_EXAMPLES = {
    "tf": dict(depth_radius=2, bias=1.5, alpha=0.18, beta=0.75),
    "torch": dict(size=5, alpha=0.9, beta=0.75, k=1.5),
    "onnx": dict(size=5, alpha=0.9, beta=0.75, bias=1.5),
    "caffe": dict(local_size=5, alpha=0.9, beta=0.75, k=1.5),
}


@pytest.mark.parametrize("source,target", list(itertools.permutations(CONVENTION_EXAMPLES, 2)))
def test_convert_maps_every_pair_both_ways(source, target):
    from lrn_op import convert

    converted = convert.convert(source, target, **CONVENTION_EXAMPLES[source])
    assert converted.keys() == CONVENTION_EXAMPLES[target].keys()
    for key, value in CONVENTION_EXAMPLES[target].items():
        assert converted[key] == pytest.approx(value, rel=1e-15)
    assert convert.window_of(target, **converted) == pytest.approx(convert.window_of(source,
                                                                                      **CONVENTION_EXAMPLES[source]))


def test_convert_refuses_only_what_cannot_be_expressed():
    from lrn_op import convert

    with pytest.raises(ValueError, match="TF's window is symmetric"):
        convert.convert("torch", "tf", size=4, alpha=1.0, beta=0.75, k=1.0)
    with pytest.raises(ValueError, match="the onnx convention's window of 4 channels is 1 before and 2 after"):
        convert.convert("torch", "onnx", size=4, alpha=1.0, beta=0.75, k=1.0)
    with pytest.raises(ValueError, match="the torch convention's window of 4 channels is 2 before and 1 after"):
        convert.convert("onnx", "torch", size=4, alpha=1.0, beta=0.75, bias=1.0)
    with pytest.raises(ValueError, match="convention must be one of 'tf', 'torch', 'onnx', 'caffe', got 'mxnet'"):
        convert.convert("torch", "mxnet", size=4, alpha=1.0, beta=0.75, k=1.0)
    # An even size does go between ONNX and Caffe, whose windows are the same.
    assert convert.convert("onnx", "caffe", size=4, alpha=1.0, beta=0.75, bias=1.0) == dict(
        local_size=4, alpha=1.0, beta=0.75, k=1.0)
