"""The peers table of `python -m lrn_op.bench --peers`: lrn_op's forward against every other LRN installed here,
float32, each in its own layout, on the shapes where the peers are strongest (batch 1) and on batch 32.

  lrn_op     lrn_op.numpy into a preallocated `out=` (as an inference request reuses its output) and allocating, in
             NHWC (local_response_normalization) and NCHW (local_response_norm, convention "onnx")
  TF         tf.nn.local_response_normalization, NHWC (its only CPU layout)
  PyTorch    torch.nn.functional.local_response_norm, NCHW
  ORT        an ONNX model of one LRN node in ONNX Runtime, NCHW
  OpenVINO   the same model compiled by OpenVINO's CPU plugin (oneDNN's kernels), NCHW, its output reused

Before timing, each peer's answer is checked against lrn_op's with alpha large enough (ALPHA_CHECK) that the window's
sum matters, since with alpha = 1e-4 a wrong window would pass; what it found wrong is printed, and such a peer still
gets its time. Each sample is the mean of back-to-back calls that take at least 20 ms (SAMPLING). The copy column
(np.copyto into a preallocated array) is the memory floor. "vs fastest peer" is the fastest correct peer's time over
lrn_op's. Forward+backward is timed against TF's and PyTorch's autograd.

Run with `--simd avx2` (or baseline), the peers table caps oneDNN to the same instructions
(ONEDNN_MAX_CPU_ISA=AVX2, SSE41): how a machine without AVX-512 ranks them. Each ISA runs in a process of its own,
since oneDNN reads its cap once.
"""
import importlib.util
import statistics
from dataclasses import dataclass

import numpy as np

from lrn_op.bench.timing import interleaved_samples, layout


@dataclass(frozen=True)
class PeerCase:
    name: str
    nchw: tuple  # (N, C, H, W)
    size: int  # the window, in ONNX's and PyTorch's terms (odd: every peer's window agrees)
    alpha: float  # divided by size, as ONNX and PyTorch take it
    beta: float
    bias: float


PEER_CASES = [
    PeerCase("AlexNet LRN1 b1", (1, 96, 55, 55), 5, 1e-4, 0.75, 2.0),
    PeerCase("AlexNet LRN2 b1", (1, 256, 27, 27), 5, 1e-4, 0.75, 2.0),
    PeerCase("GoogLeNet b1", (1, 192, 56, 56), 5, 1e-4, 0.75, 1.0),
    PeerCase("AlexNet LRN1 b32", (32, 96, 55, 55), 5, 1e-4, 0.75, 2.0),
    PeerCase("GoogLeNet b32", (32, 192, 56, 56), 5, 1e-4, 0.75, 1.0),
    PeerCase("TF defaults", (16, 64, 32, 32), 11, 11.0, 0.5, 1.0),
    PeerCase("general beta", (8, 128, 28, 28), 7, 1e-4, 0.6, 1.0),
]
# Each sample: calls back to back for at least 20 ms. A single sub-millisecond call right after another library's
# would be timed while that library's threads still spin on both cores (timing.py). A pause before each sample does
# worse on these virtual machines: after 50 ms of sleep lrn_op's two-thread batch-1 call ran at 0.45 ms against 0.21
# to 0.24 without, on the same machine within a minute.
SAMPLING = dict(min_ms=20.0)
# ONNX Runtime's intra-op pool spins between runs for longer than that: with one ONNX Runtime session in the
# process, lrn_op's AlexNet LRN1 b1 forward ran at 0.28-0.36 ms against 0.15 with the session's spinning turned off,
# and TF's defaults at 1.10-1.30 against 0.89, while ONNX Runtime's own times moved 1-7% (4.05 to 4.07 ms, 14.6 to
# 15.6). So its session waits as the other libraries' threads do (session.intra_op.allow_spinning = 0).
ORT_SPINNING = "0"
# The alpha of the correctness check: large enough that the window's sum moves every output.
ALPHA_CHECK = 1.0
# oneDNN's names for the SIMD paths' instruction sets.
ONEDNN_ISA = {"avx512": None, "avx2": "AVX2", "baseline": "SSE41"}
PEERS = ("tensorflow", "torch", "onnxruntime", "openvino")


def installed_peers():
    return [peer for peer in PEERS if importlib.util.find_spec(peer) is not None]


def describe(peer):
    """The peer's name as the table's heading gives it, with any setting the benchmark changes."""
    return f"{peer} (intra-op spinning off)" if peer == "onnxruntime" and ORT_SPINNING == "0" else peer


def _onnx_model(case, alpha, shape):
    from onnx import TensorProto, helper

    node = helper.make_node("LRN", ["x"], ["y"], size=case.size, alpha=alpha, beta=case.beta, bias=case.bias)
    graph = helper.make_graph([node], "lrn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def _forward_calls(peer, case, alpha, x_nchw, x_nhwc):
    """A zero-argument callable that runs `peer`'s forward on the case, and one that returns its answer in NCHW."""
    radius = (case.size - 1) // 2
    if peer == "tensorflow":
        import tensorflow as tf

        t = tf.constant(x_nhwc)
        run = tf.function(lambda: tf.nn.local_response_normalization(t, radius, case.bias, alpha / case.size,
                                                                      case.beta))
        return lambda: run().numpy(), lambda: np.ascontiguousarray(run().numpy().transpose(0, 3, 1, 2))
    if peer == "torch":
        import torch

        t = torch.from_numpy(x_nchw)
        run = lambda: torch.nn.functional.local_response_norm(t, case.size, alpha, case.beta, case.bias)  # noqa: E731
        return run, lambda: run().numpy()
    model = _onnx_model(case, alpha, x_nchw.shape)
    if peer == "onnxruntime":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", ORT_SPINNING)
        session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return lambda: session.run(None, {"x": x_nchw}), lambda: session.run(None, {"x": x_nchw})[0]
    import openvino

    core = openvino.Core()
    request = core.compile_model(core.read_model(model, b""), "CPU").create_infer_request()
    request.set_input_tensor(openvino.Tensor(x_nchw))

    def answer():
        request.infer()
        return request.get_output_tensor().data.copy()

    return request.infer, answer


def check(peers, case, rng):
    """{peer: what is wrong with its answer, or None}, against lrn_op with alpha = ALPHA_CHECK."""
    import lrn_op.numpy

    x = rng.standard_normal(case.nchw).astype(np.float32)
    ours = lrn_op.numpy.local_response_norm(x, case.size, ALPHA_CHECK, case.beta, case.bias, convention="onnx")
    found = {}
    for peer in peers:
        try:
            theirs = _forward_calls(peer, case, ALPHA_CHECK, x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)))[1]()
        except Exception as error:  # noqa: BLE001 - a peer that fails is reported, not fatal
            found[peer] = f"failed: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
            continue
        error = float(np.max(np.abs(theirs - ours) / np.maximum(np.abs(ours), np.finfo(np.float32).tiny)))
        found[peer] = None if error <= 1e-5 else f"off by up to {error:.3g} (relative)"
    return found


def _forward_backward_calls(case, x_nchw, x_nhwc, dy_nchw, dy_nhwc):
    """Forward then backward (the gradient of sum(y * dy)) through lrn_op in both layouts, TF's autograd and
    PyTorch's, as installed."""
    import lrn_op.numpy

    tf_params = dict(depth_radius=(case.size - 1) // 2, bias=case.bias, alpha=case.alpha / case.size, beta=case.beta)
    norm = dict(size=case.size, alpha=case.alpha, beta=case.beta, k=case.bias, convention="onnx")

    def ours_nhwc():
        y = lrn_op.numpy.local_response_normalization(x_nhwc, **tf_params)
        return lrn_op.numpy.local_response_normalization_grad(dy_nhwc, x_nhwc, y, **tf_params)

    def ours_nchw():
        y = lrn_op.numpy.local_response_norm(x_nchw, **norm)
        return lrn_op.numpy.local_response_norm_grad(dy_nchw, x_nchw, y, **norm)

    calls = {"lrn_op NHWC": ours_nhwc, "lrn_op NCHW": ours_nchw}
    if importlib.util.find_spec("tensorflow"):
        import tensorflow as tf

        tf_x, tf_dy = tf.constant(x_nhwc), tf.constant(dy_nhwc)

        @tf.function
        def tf_step():
            with tf.GradientTape() as tape:
                tape.watch(tf_x)
                y = tf.nn.local_response_normalization(tf_x, **tf_params)
            return tape.gradient(y, tf_x, output_gradients=tf_dy)

        calls["tensorflow"] = lambda: tf_step().numpy()
    if importlib.util.find_spec("torch"):
        import torch

        torch_x, torch_dy = torch.from_numpy(x_nchw), torch.from_numpy(dy_nchw)

        def torch_step():
            u = torch_x.detach().requires_grad_(True)
            y = torch.nn.functional.local_response_norm(u, case.size, case.alpha, case.beta, case.bias)
            return torch.autograd.grad(y, u, torch_dy)[0]

        calls["torch"] = torch_step
    return calls


# The cases where peers have been seen to differ from ONNX's specification: even sizes, a bias other than 1 and 2,
# ranks other than 4. (size, bias, NCHW shape), alpha = ALPHA_CHECK, beta 0.75.
CONFORMANCE_CASES = [(4, 1.0, (2, 9, 4, 5)), (2, 1.0, (2, 9, 4, 5)), (5, 1.5, (2, 9, 4, 5)), (5, 2.0, (2, 9, 4, 5)),
                     (3, 1.0, (2, 9, 7)), (3, 1.0, (2, 9, 2, 3, 4))]


def conformance(rng):
    """[(peer, case, finding)] for ONNX Runtime's and OpenVINO's ONNX LRN against lrn_op's convention="onnx", which
    the tests hold to ONNX's written specification."""
    import lrn_op.numpy

    findings = []
    for size, bias, shape in CONFORMANCE_CASES:
        case = PeerCase("", shape, size, ALPHA_CHECK, 0.75, bias)
        x = rng.standard_normal(shape).astype(np.float32)
        ours = lrn_op.numpy.local_response_norm(x, size, ALPHA_CHECK, 0.75, bias, convention="onnx")
        label = f"size {size}, bias {bias}, rank {len(shape)}"
        for peer in ("onnxruntime", "openvino"):
            if importlib.util.find_spec(peer) is None:
                continue
            try:
                theirs = _forward_calls(peer, case, ALPHA_CHECK, x, None)[1]()
            except Exception as error:  # noqa: BLE001 - a refusal is a finding
                text = " ".join(str(error).split())
                findings.append((peer, label, f"refused: ...{text[-70:]}"))  # the end says why
                continue
            error = float(np.max(np.abs(theirs - ours) / np.maximum(np.abs(ours), np.finfo(np.float32).tiny)))
            findings.append((peer, label, f"{'right' if error <= 1e-5 else 'WRONG'}: {error:.2g} relative"))
    return findings


def measure(runs, warmup, cases=PEER_CASES):
    """{case name: {"ms": {column: [median, min, max]}, "fwdbwd": {column: ...}, "wrong": {peer: text}}}, in this
    process."""
    import lrn_op.numpy

    peers = installed_peers()
    results = {}
    rng = np.random.default_rng(0)
    for case in cases:
        x = rng.standard_normal(case.nchw).astype(np.float32)
        x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        out_nchw, out_nhwc, floor = np.empty_like(x), np.empty_like(x_nhwc), np.empty_like(x)
        tf_params = dict(depth_radius=(case.size - 1) // 2, bias=case.bias, alpha=case.alpha / case.size,
                         beta=case.beta)
        norm = dict(size=case.size, alpha=case.alpha, beta=case.beta, k=case.bias, convention="onnx")
        calls = {
            "copy": lambda: np.copyto(floor, x),
            "lrn_op NHWC out=": lambda: lrn_op.numpy.local_response_normalization(x_nhwc, **tf_params, out=out_nhwc),
            "lrn_op NCHW out=": lambda: lrn_op.numpy.local_response_norm(x, **norm, out=out_nchw),
            "lrn_op NCHW": lambda: lrn_op.numpy.local_response_norm(x, **norm),
        }
        for peer in peers:
            calls[peer] = _forward_calls(peer, case, case.alpha, x, x_nhwc)[0]
        samples = interleaved_samples(calls, runs, warmup, **SAMPLING)
        dy = rng.standard_normal(case.nchw).astype(np.float32)
        both = interleaved_samples(_forward_backward_calls(case, x, x_nhwc, dy,
                                                           np.ascontiguousarray(dy.transpose(0, 2, 3, 1))),
                                   runs, warmup, **SAMPLING)
        results[case.name] = {"ms": {key: [statistics.median(v), min(v), max(v)] for key, v in samples.items()},
                              "fwdbwd": {key: [statistics.median(v), min(v), max(v)] for key, v in both.items()},
                              "wrong": check(peers, case, rng)}
    return {"cases": results, "conformance": conformance(rng)}


def format_table(measured):
    """One row per case: lrn_op's columns, each peer's, the copy floor and lrn_op's lead over the fastest correct
    peer, in NHWC and in NCHW; then forward+backward, and the conformance findings."""
    results = measured["cases"]
    peers = [peer for peer in PEERS if any(peer in r["ms"] for r in results.values())]
    header = ["case", "copy ms", "lrn_op NHWC out= ms", "lrn_op NCHW out= ms", "lrn_op NCHW ms",
              *[f"{peer} ms" for peer in peers], "fastest peer", "NHWC vs it", "NCHW vs it", "NCHW/NHWC"]
    lines = [header]
    notes = []
    for name, result in results.items():
        ms, wrong = result["ms"], result["wrong"]
        correct = [peer for peer in peers if peer in ms and not wrong.get(peer)]
        fastest = min(correct, key=lambda peer: ms[peer][0]) if correct else None
        line = [name, f"{ms['copy'][0]:.3f}", f"{ms['lrn_op NHWC out='][0]:.3f}", f"{ms['lrn_op NCHW out='][0]:.3f}",
                f"{ms['lrn_op NCHW'][0]:.3f}"]
        line += [f"{ms[peer][0]:.3f}{' (wrong)' if wrong.get(peer) else ''}" if peer in ms else "-" for peer in peers]
        if fastest:
            line += [fastest, f"{ms[fastest][0] / ms['lrn_op NHWC out='][0]:.2f}x",
                     f"{ms[fastest][0] / ms['lrn_op NCHW out='][0]:.2f}x"]
        else:
            line += ["-", "-", "-"]
        line.append(f"{ms['lrn_op NCHW out='][0] / ms['lrn_op NHWC out='][0]:.2f}")
        lines.append(line)
        notes += [f"  {name}: {peer} {text}" for peer, text in wrong.items() if text]
    table = layout(lines)
    others = [peer for peer in ("tensorflow", "torch") if any(peer in r["fwdbwd"] for r in results.values())]
    both = [["case", "lrn_op NHWC ms", "lrn_op NCHW ms", *[f"{peer} ms" for peer in others],
             *[f"NCHW vs {peer}" for peer in others], "NCHW/NHWC"]]
    for name, result in results.items():
        ms = {key: value[0] for key, value in result["fwdbwd"].items()}
        both.append([name, f"{ms['lrn_op NHWC']:.3f}", f"{ms['lrn_op NCHW']:.3f}",
                     *[f"{ms[peer]:.3f}" for peer in others],
                     *[f"{ms[peer] / ms['lrn_op NCHW']:.2f}x" for peer in others],
                     f"{ms['lrn_op NCHW'] / ms['lrn_op NHWC']:.2f}"])
    table += "\n\nForward+backward (the gradient of sum(y * dy)), against TF's and PyTorch's autograd:\n" + layout(both)
    if notes:
        table += f"\n\nWrong answers found by the check (alpha = {ALPHA_CHECK}):\n" + "\n".join(notes)
    if measured["conformance"]:
        table += ("\n\nONNX's LRN in ONNX Runtime and OpenVINO against lrn_op's convention='onnx' (alpha "
                  f"{ALPHA_CHECK}, beta 0.75):\n" + layout([["peer", "case", "finding"],
                                                             *map(list, measured["conformance"])]))
    return table
