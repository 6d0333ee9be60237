"""Times lrn_op against tf.nn.local_response_normalization in one process and prints a table of ratios.

    python -m lrn_op.bench                 # the four reference shapes, float32
    python -m lrn_op.bench --sweep         # more regimes: radii, betas, dtypes, layouts (smaller tensors)
    python -m lrn_op.bench --plot out.png  # also draw the table (needs matplotlib: pip install lrn_op[plot])
    python -m lrn_op.bench --model         # a small AlexNet-style network end to end: inference, training step

Runs are interleaved, and the order of the columns turns by one each round (ours, TF, copy; TF, copy, ours; ...),
so that drifts in machine load and the state one call leaves for the next hit every column alike. Each figure is
the median of --runs timed runs after --warmup untimed ones, with [min-max] of those runs beside it. "copy" is
tf.raw_ops.DeepCopy of the same tensor: the memory floor for an op that reads its input once and writes its output
once. Forward+backward reads four tensors (x; then dy, x, y) and writes two (y, dx): its floor is three copies, and
"fwd+bwd/3 copies" is its ratio to that floor.

A second table times tf.nn.local_response_normalization after lrn_op.replace_builtin(), which cannot be undone, so
it runs in a process of its own (`--replaced`) and is compared with the copy timed in that same process.

`--simd all` times every SIMD path this CPU runs, each in a process of its own with LRN_OP_SIMD set, and prints one
table with a row per path and case (`--simd avx2` times one path).

`--backends` times lrn_op under JAX and PyTorch against those frameworks' own LRN (backends.py), each in a process
of its own; it needs jax and torch, not TensorFlow.

`--front-ends` times lrn_op.numpy and lrn_op.torch on small tensors, batch 1 and one large tensor against a copy,
batch 1 on one thread and on all, and the floor of a 1x1x1x8 call through every front end installed (front_ends.py);
it needs torch, not TensorFlow.

`--peers` times lrn_op's forward, in NHWC and NCHW, against every other LRN installed (TF, PyTorch, ONNX Runtime,
OpenVINO: pip install 'lrn_op[peers]'), after checking each one's answer (peers.py); with `--simd avx2` it caps
oneDNN to the same instructions (ONEDNN_MAX_CPU_ISA).

The modules import one way: cases and timing at the bottom, the tables (tf_tables, backends, front_ends) and plot
above them, and this command line on top.
"""
import argparse
import importlib.util
import json
import os
import sys

import lrn_op
from lrn_op.bench.cases import CASES, SWEEP
from lrn_op.bench.plot import plot, pyplot
from lrn_op.bench.tf_tables import (REPLACED_COLUMNS, TF_DTYPES, format_model_table, format_replaced_table,
                                    format_table, measure, measure_every_path, measure_replaced, model_rows)
from lrn_op.bench.timing import bench_process

# TensorFlow is imported where it is used, so that --help and argument errors answer at once.


def _backends_main(args):
    """--backends, and --backend NAME: its per-backend processes."""
    from lrn_op.bench import backends

    if args.backend:
        cases = [case for case in CASES if case.name in backends.CASE_NAMES]
        print(json.dumps(backends.measure(args.backend, cases, args.runs, args.warmup)))
        return
    results = {}
    for backend in backends.ROWS:
        results.update(bench_process("--backend", False, args.runs, args.warmup, f"the {backend} process",
                                     extra=[backend], KERAS_BACKEND=backend.split("-")[0]))
    print(f"lrn_op {lrn_op.__version__} under JAX and PyTorch, each in a process of its own on {os.cpu_count()} "
          f"cores; milliseconds, median of {args.runs} runs [min-max]")
    print(backends.format_table(results))


def _front_ends_main(args):
    """--front-ends: lrn_op.numpy and lrn_op.torch, in this process."""
    from lrn_op.bench import front_ends

    import lrn_op.numpy

    print(f"lrn_op {lrn_op.__version__}, SIMD path {lrn_op.numpy.simd_path()}, {os.cpu_count()} cores; "
          f"microseconds, median of {args.runs} runs [min-max]")
    print(front_ends.format_table(front_ends.measure(("numpy", "torch"), args.runs, args.warmup)))
    print(f"\nBatch 1 on one thread and on all {lrn_op.numpy._lrn_numpy.allowed_cpus()} the process may use, "
          "forward into out=, NHWC and NCHW, through the numpy module; milliseconds per call:")
    print(front_ends.format_scaling_table(front_ends.measure_scaling(args.runs, args.warmup)))
    print(f"\nThe floor of a call: {'x'.join(map(str, front_ends.FLOOR_SHAPE))} float32, forward, against the same "
          f"framework's copy and its own LRN; microseconds per call, each sample the mean of calls back to back for "
          f"{front_ends.FLOOR_MIN_MS:g} ms:")
    print(front_ends.format_floor_table(front_ends.measure_call_floor(args.runs, args.warmup)))


def _peers_main(args):
    """--peers, and --peer-process: the measurement, in a process whose oneDNN reads the instruction cap."""
    from lrn_op.bench import peers

    if args.peer_process:
        print(json.dumps(peers.measure(args.runs, args.warmup)))
        return
    path = args.simd or "best"
    environment = {}
    if args.simd:
        if args.simd not in peers.ONEDNN_ISA:
            raise SystemExit(f"--peers --simd takes one of {', '.join(peers.ONEDNN_ISA)}, got {args.simd}")
        environment["LRN_OP_SIMD"] = args.simd
        if peers.ONEDNN_ISA[args.simd]:
            environment["ONEDNN_MAX_CPU_ISA"] = peers.ONEDNN_ISA[args.simd]
    results = bench_process("--peer-process", False, args.runs, args.warmup, "the peers process", **environment)
    import lrn_op.numpy

    cap = f", oneDNN capped to {environment['ONEDNN_MAX_CPU_ISA']}" if "ONEDNN_MAX_CPU_ISA" in environment else ""
    named = ", ".join(peers.describe(peer) for peer in peers.installed_peers())
    print(f"lrn_op {lrn_op.__version__}, SIMD path {path if args.simd else lrn_op.numpy.simd_path()}{cap}, "
          f"{os.cpu_count()} cores, float32 forward; peers: {named}; milliseconds per "
          f"call, median of {args.runs} runs of calls back to back for at least {peers.SAMPLING['min_ms']:g} ms")
    print(peers.format_table(results))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lrn_op.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per column (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--sweep", action="store_true", help="time the wider set of regimes instead")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the table as a bar chart")
    parser.add_argument("--model", action="store_true",
                        help="time a small AlexNet-style network end to end instead, with TF's LRN and with lrn_op's")
    parser.add_argument("--replaced", action="store_true",
                        help="time only tf.nn.lrn, after lrn_op.replace_builtin() (for the second table), as JSON")
    parser.add_argument("--simd", metavar="PATH",
                        help="time this SIMD path (LRN_OP_SIMD), or 'all': every path this CPU runs, one table")
    parser.add_argument("--backends", action="store_true",
                        help="time lrn_op under JAX and PyTorch against their own LRN instead (no TensorFlow needed)")
    parser.add_argument("--front-ends", action="store_true",
                        help="time lrn_op.numpy and lrn_op.torch on small tensors and batch 1 instead (no TensorFlow)")
    parser.add_argument("--peers", action="store_true",
                        help="time lrn_op against every other LRN installed, after checking their answers")
    parser.add_argument("--peer-process", action="store_true", help=argparse.SUPPRESS)  # --peers' process
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # --simd all's per-path processes
    parser.add_argument("--backend", help=argparse.SUPPRESS)  # --backends' per-backend processes
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error(f"--runs must be at least 1 and --warmup at least 0, got {args.runs} and {args.warmup}")
    if args.model and (args.sweep or args.replaced):
        parser.error("--model times the network alone: it does not combine with --sweep or --replaced")
    if args.simd == "all" and (args.model or args.replaced or args.plot):
        parser.error("--simd all prints one table of lrn_op's op per path: it does not combine with --model, "
                     "--replaced or --plot")
    if args.backends and (args.model or args.replaced or args.plot or args.simd or args.sweep):
        parser.error("--backends prints its own table of the AlexNet LRN1 and TF defaults cases: it does not combine "
                     "with --model, --replaced, --plot, --simd or --sweep")
    if args.front_ends and (args.model or args.replaced or args.plot or args.simd or args.sweep or args.backends):
        parser.error("--front-ends prints its own table: it does not combine with the other modes")
    if args.peers or args.peer_process:
        if args.model or args.replaced or args.plot or args.sweep or args.backends or args.front_ends:
            parser.error("--peers prints its own table: it combines with --simd alone")
        return _peers_main(args)
    if args.backend or args.backends:
        return _backends_main(args)
    if args.front_ends:
        return _front_ends_main(args)
    if args.simd and args.simd != "all":
        os.environ["LRN_OP_SIMD"] = args.simd  # read when the kernels first run, which is later
    if importlib.util.find_spec("tensorflow") is None:
        parser.error("the benchmark compares lrn_op with TensorFlow's LRN, and TensorFlow is not installed: "
                     "pip install 'lrn_op[tensorflow-cpu]'")

    def progress(line):
        print(line, file=sys.stderr, flush=True)

    if args.plot:
        pyplot()  # say now, not after the whole benchmark, if matplotlib is missing
    import tensorflow as tf

    import lrn_op.numpy

    if args.model:
        print(f"lrn_op {lrn_op.__version__}, TensorFlow {tf.__version__}: conv-relu-LRN-pool twice, then dense; "
              f"median of {args.runs} runs")
        print(format_model_table(model_rows(args.runs, args.warmup)))
        return
    cases = SWEEP if args.sweep else CASES
    if args.simd == "all":
        print(f"lrn_op {lrn_op.__version__}, TensorFlow {tf.__version__}, every SIMD path this CPU runs, each in a "
              f"process of its own; milliseconds, median of {args.runs} runs [min-max]")
        print(format_table(measure_every_path(args.sweep, args.runs, args.warmup, progress)))
        return
    if args.json:
        rows = measure(cases, args.runs, args.warmup, progress)
        print(json.dumps({"simd_path": lrn_op.numpy.simd_path(),
                          "rows": [{"case": r.case.name, "ms": r.ms, "spread": r.spread} for r in rows]}))
        return
    if args.replaced:
        lrn_op.replace_builtin()
        rows = measure([c for c in cases if c.dtype in TF_DTYPES and c.data_format == "NHWC"],
                       args.runs, args.warmup, progress, columns=REPLACED_COLUMNS)
        print(json.dumps({row.case.name: row.ms for row in rows}))
        return
    rows = measure(cases, args.runs, args.warmup, progress)
    replaced = measure_replaced(args.sweep, args.runs, args.warmup)
    print(f"lrn_op {lrn_op.__version__}, TensorFlow {tf.__version__}, SIMD path {lrn_op.numpy.simd_path()}, "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'} intra-op threads "
          f"on {os.cpu_count()} cores; milliseconds, median of {args.runs} runs [min-max]")
    print(format_table(rows))
    print("\ntf.nn.local_response_normalization after lrn_op.replace_builtin(), timed in a process of its own:")
    print(format_replaced_table(rows, replaced))
    if args.plot:
        plot(rows, args.plot)
        print(f"chart written to {args.plot}")


if __name__ == "__main__":
    main()
