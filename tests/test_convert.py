"""Parameter conversions from PyTorch, Caffe and ONNX, checked against a real peer: ONNX Runtime's LRN."""
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

import lrn_op
import lrn_op.convert as convert
import lrn_op.numpy as lrn_numpy
import reference


def onnx_lrn(x, size, alpha, beta, bias):
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=alpha, beta=beta, bias=bias)
    graph = helper.make_graph([node], "lrn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("size,alpha,beta,bias", [(5, 1e-4, 0.75, 2.0), (3, 0.5, 0.6, 1.0), (1, 1.0, 1.0, 1.0),
                                                  (11, 2e-3, 1.3, 0.5)])
def test_from_onnx_matches_onnxruntime(rng, size, alpha, beta, bias):
    x = (3 * rng.standard_normal([2, 17, 5, 6])).astype(np.float32)  # ONNX is NCHW
    params = convert.from_onnx(size, alpha, beta, bias)
    peer = onnx_lrn(x, size, alpha, beta, bias)
    # ONNX's formula evaluated in float64: alpha divided by the window size.
    exact = reference.lrn(x.transpose(0, 2, 3, 1), (size - 1) // 2, bias, alpha / size, beta).transpose(0, 3, 1, 2)
    for ours in (lrn_op.lrn(x, **params, data_format="NCHW").numpy(),
                 lrn_numpy.local_response_normalization(x, **params, data_format="NCHW")):
        np.testing.assert_allclose(ours, exact, rtol=3e-7)
        # ONNX Runtime computes in float32: it was measured up to 7.3e-6 away from ours (and 1.8e-6 away from the
        # float64 value) on these cases.
        np.testing.assert_allclose(ours, peer, rtol=2e-5, atol=1e-7)


def test_torch_and_caffe_share_the_onnx_formula():
    assert convert.from_torch(5, alpha=1e-4, beta=0.75, k=2.0) == convert.from_onnx(5, 1e-4, 0.75, 2.0) == {
        "depth_radius": 2, "bias": 2.0, "alpha": 2e-05, "beta": 0.75}
    assert convert.from_caffe(5, 1.0, 0.75, 1.0) == {"depth_radius": 2, "bias": 1.0, "alpha": 0.2, "beta": 0.75}
    assert convert.from_torch(3) == {"depth_radius": 1, "bias": 1.0, "alpha": 1e-4 / 3, "beta": 0.75}


@pytest.mark.parametrize("fn", [convert.from_torch, lambda s: convert.from_caffe(s, 1, 0.75, 1),
                                lambda s: convert.from_onnx(s, 1e-4, 0.75, 1)])
@pytest.mark.parametrize("size,error,message", [(2, ValueError, "TF's window is symmetric"),
                                                (4, ValueError, "TF's window is symmetric"),
                                                (0, ValueError, "size must be a positive integer"),
                                                (-3, ValueError, "size must be a positive integer"),
                                                (2.5, TypeError, "size must be a positive integer, got 2.5")])
def test_even_or_invalid_sizes_are_refused(fn, size, error, message):
    # An even size has a window TF cannot name (lrn_op.torch and convention="onnx" compute it); the rest is no size.
    with pytest.raises(error, match=message):
        fn(size)
