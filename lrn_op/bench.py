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

`--backends` times lrn_op under JAX and PyTorch against those frameworks' own LRN (lrn_op/_bench_backends.py), each
in a process of its own; it needs jax and torch, not TensorFlow.
"""
import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

import lrn_op

# TensorFlow is imported where it is used, so that --help and argument errors answer at once.


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

COLUMNS = ("ours_fwd", "tf_fwd", "ours_fwdbwd", "tf_fwdbwd", "copy")
# The dtypes TF's CPU LRN runs.
TF_DTYPES = ("float16", "float32")
# In a process after replace_builtin(), "tf_*" time TF's own op running lrn_op's kernels.
REPLACED_COLUMNS = ("tf_fwd", "tf_fwdbwd", "copy")


@dataclass
class Row:
    case: Case
    ms: dict = field(default_factory=dict)  # column: median milliseconds
    spread: dict = field(default_factory=dict)  # column: (min, max) milliseconds

    def ratio(self, slower, faster):
        return self.ms[slower] / self.ms[faster]

    def has_tf(self):
        return "tf_fwd" in self.ms


def _gradient(fn, x, dy):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x, output_gradients=dy)


def _variants(case):
    """The zero-argument callables to time, keyed by COLUMNS."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    data = rng.standard_normal(case.shape).astype(np.float32)
    upstream = rng.standard_normal(case.shape).astype(np.float32)
    if case.data_format == "NCHW":
        data, upstream = data.transpose(0, 3, 1, 2), upstream.transpose(0, 3, 1, 2)
    x, dy = tf.constant(data, case.dtype), tf.constant(upstream, case.dtype)

    def ours(t):
        return lrn_op.local_response_normalization(t, **case.params(), data_format=case.data_format)

    def theirs(t):
        if case.data_format == "NCHW":
            nhwc = tf.nn.local_response_normalization(tf.transpose(t, [0, 2, 3, 1]), **case.params())
            return tf.transpose(nhwc, [0, 3, 1, 2])
        return tf.nn.local_response_normalization(t, **case.params())

    variants = {
        "ours_fwd": lambda: ours(x),
        "tf_fwd": lambda: theirs(x),
        "ours_fwdbwd": lambda: _gradient(ours, x, dy),
        "tf_fwdbwd": lambda: _gradient(theirs, x, dy),
        "copy": lambda: tf.raw_ops.DeepCopy(x=x),
    }
    if case.dtype not in TF_DTYPES:
        del variants["tf_fwd"], variants["tf_fwdbwd"]
    return variants


def measure(cases, runs=7, warmup=2, progress=None, columns=COLUMNS):
    """Returns one Row per case with the median milliseconds of every column."""
    rows = []
    for index, case in enumerate(cases, 1):
        if progress:
            progress(f"[{index}/{len(cases)}] {case.name} {list(case.shape)} {case.dtype} {case.data_format}")
        variants = _variants(case)
        samples = _interleaved_samples({key: variants[key] for key in columns if key in variants}, runs, warmup)
        rows.append(Row(case, {key: statistics.median(values) for key, values in samples.items()},
                        {key: (min(values), max(values)) for key, values in samples.items()}))
    return rows


def _interleaved_samples(calls, runs, warmup):
    """Runs the zero-argument callables in turn, warmup + runs rounds, and returns the milliseconds of each timed
    round per callable. Interleaving lets drifts in machine load hit every callable alike; the order turns by one
    each round, so that none always runs after the same neighbour."""
    keys = list(calls)
    samples = {key: [] for key in keys}
    for run in range(warmup + runs):
        for key in keys[run % len(keys):] + keys[:run % len(keys)]:
            start = time.perf_counter()
            calls[key]()
            if run >= warmup:
                samples[key].append((time.perf_counter() - start) * 1e3)
    return samples


def model_rows(runs=7, warmup=2, batch=32):
    """Times a small AlexNet-style network (conv, relu, LRN, pool twice, then dense) with TF's LRN and with lrn_op's
    layer: one inference and one SGD training step each, interleaved. Returns [(what, tf_ms, lrn_op_ms)]."""
    import keras
    import tensorflow as tf

    def network(portable):
        keras.utils.set_random_seed(0)
        # portable=True calls tf.nn.local_response_normalization: TF's own kernel, in this process.
        lrn = dict(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, portable=portable)
        return keras.Sequential([
            keras.Input((112, 112, 3)),
            keras.layers.Conv2D(64, 5, strides=2, activation="relu"),
            lrn_op.LocalResponseNormalization(**lrn),
            keras.layers.MaxPooling2D(3, strides=2),
            keras.layers.Conv2D(128, 3, padding="same", activation="relu"),
            lrn_op.LocalResponseNormalization(**lrn),
            keras.layers.MaxPooling2D(3, strides=2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ])

    rng = np.random.default_rng(0)
    images = tf.constant(rng.standard_normal((batch, 112, 112, 3)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 10, batch))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    steps = {}
    for name, portable in (("tf", True), ("lrn_op", False)):
        model, optimizer = network(portable), keras.optimizers.SGD(0.01)

        def train(model=model, optimizer=optimizer):
            with tf.GradientTape() as tape:
                value = loss(labels, model(images, training=True))
            optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables), model.trainable_variables))
            return value

        steps[name] = {"inference": tf.function(lambda model=model: model(images)), "training step": tf.function(train)}
    rows = []
    for what in ("inference", "training step"):
        # .numpy() waits for the result, so that each sample times the whole step.
        samples = _interleaved_samples({name: lambda name=name: steps[name][what]().numpy() for name in steps}, runs,
                                       warmup)
        rows.append((what, statistics.median(samples["tf"]), statistics.median(samples["lrn_op"])))
    return rows


def format_model_table(rows):
    lines = [["batch of 32 at 112x112x3", "with tf.nn.lrn ms", "with lrn_op ms", "lrn_op speed-up"]]
    lines += [[what, f"{theirs:.1f}", f"{ours:.1f}", f"{theirs / ours:.2f}x"] for what, theirs, ours in rows]
    return _layout(lines)


def geomean(values):
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def format_table(rows, full=True):
    """One line per case: medians with [min-max] beside them, and the ratios. A case TF cannot run has "-" in TF's
    columns and stays out of the "vs TF" geomeans."""
    header = ["case", "shape", "copy ms", "fwd ms", "TF fwd ms", "fwd vs TF", "fwd/copy"]
    if full:
        header += ["fwd+bwd ms", "TF fwd+bwd ms", "fwd+bwd vs TF", "fwd+bwd/3 copies"]
    lines = [header]

    def timing(row, column):
        if column not in row.ms:
            return "-"
        low, high = row.spread[column]
        return f"{row.ms[column]:.2f} [{low:.2f}-{high:.2f}]"

    def versus_tf(row, column):
        return f"{row.ratio('tf_' + column, 'ours_' + column):.1f}x" if row.has_tf() else "no TF kernel"

    for row in rows:
        case = row.case
        label = case.name if (case.dtype, case.data_format) == ("float32", "NHWC") else (
            f"{case.name} ({case.dtype} {case.data_format})")
        line = [label, "x".join(map(str, case.shape)), timing(row, "copy"), timing(row, "ours_fwd"),
                timing(row, "tf_fwd"), versus_tf(row, "fwd"), f"{row.ratio('ours_fwd', 'copy'):.2f}"]
        if full:
            line += [timing(row, "ours_fwdbwd"), timing(row, "tf_fwdbwd"), versus_tf(row, "fwdbwd"),
                     f"{row.ms['ours_fwdbwd'] / (3 * row.ms['copy']):.2f}"]
        lines.append(line)
    with_tf = [r for r in rows if r.has_tf()]
    summary = ["geomean", "", "", "", "", f"{geomean(r.ratio('tf_fwd', 'ours_fwd') for r in with_tf):.1f}x",
               f"{geomean(r.ratio('ours_fwd', 'copy') for r in rows):.2f}"]
    if full:
        summary += ["", "", f"{geomean(r.ratio('tf_fwdbwd', 'ours_fwdbwd') for r in with_tf):.1f}x",
                    f"{geomean(r.ms['ours_fwdbwd'] / (3 * r.ms['copy']) for r in rows):.2f}"]
    lines.append(summary)
    return _layout(lines)


def measure_every_path(sweep, runs, warmup, progress):
    """Times lrn_op with each SIMD path of this architecture that the CPU runs, each path in a process of its own;
    returns Rows whose case names carry the path."""
    from lrn_op import _checks

    cases = {case.name: case for case in (SWEEP if sweep else CASES)}
    rows = []
    for path in _checks.SIMD_PATHS:
        report = _bench_process("--json", sweep, runs, warmup, f"the {path} process", LRN_OP_SIMD=path)
        if report["simd_path"] != path:
            progress(f"{path}: this CPU cannot run it (the kernels ran {report['simd_path']}), so it has no rows")
            continue
        for row in report["rows"]:
            case = cases[row["case"]]
            rows.append(Row(replace(case, name=f"{path}: {case.name}"), row["ms"],
                            {key: tuple(value) for key, value in row["spread"].items()}))
    return rows


def measure_replaced(sweep, runs, warmup):
    """Times TF's own op after replace_builtin() in a fresh process; returns {case name: {column: ms}}."""
    return _bench_process("--replaced", sweep, runs, warmup, "the replace_builtin() process")


def _bench_process(mode, sweep, runs, warmup, what, extra=(), **environment):
    """Runs `python -m lrn_op.bench MODE [EXTRA]` in a process of its own and returns the JSON its last line
    prints."""
    command = [sys.executable, "-m", "lrn_op.bench", mode, *extra, "--runs", str(runs), "--warmup", str(warmup)]
    result = subprocess.run(command + (["--sweep"] if sweep else []), capture_output=True, text=True,
                            env={**os.environ, **environment})
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def format_replaced_table(rows, replaced):
    """TF's op after replace_builtin(), each ratio against the copy of its own process, beside lrn_op's op."""
    header = ["case", "copy ms", "tf.nn.lrn fwd ms", "fwd/copy", "lrn_op fwd/copy", "tf.nn.lrn fwd+bwd ms",
              "fwd+bwd/copy", "lrn_op fwd+bwd/copy"]
    lines = [header]
    for row in rows:
        if row.case.name not in replaced:
            continue
        ms = replaced[row.case.name]
        lines.append([row.case.name, f"{ms['copy']:.2f}", f"{ms['tf_fwd']:.2f}", f"{ms['tf_fwd'] / ms['copy']:.2f}",
                      f"{row.ratio('ours_fwd', 'copy'):.2f}", f"{ms['tf_fwdbwd']:.2f}",
                      f"{ms['tf_fwdbwd'] / ms['copy']:.2f}", f"{row.ratio('ours_fwdbwd', 'copy'):.2f}"])
    return _layout(lines)


def _layout(lines):
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "-|-".join("-" * width for width in widths))
    return "\n".join(text)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'lrn_op[plot]'") from None
    return plt


def plot(rows, path):
    plt = _pyplot()
    rows = [row for row in rows if row.has_tf()]
    names = [row.case.name for row in rows]
    positions = np.arange(len(rows))
    figure, axis = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4))
    axis.bar(positions - 0.2, [r.ratio("tf_fwd", "ours_fwd") for r in rows], 0.4, label="forward")
    axis.bar(positions + 0.2, [r.ratio("tf_fwdbwd", "ours_fwdbwd") for r in rows], 0.4, label="forward+backward")
    axis.axhline(1.0, color="black", linewidth=0.8)
    axis.set_xticks(positions, names, rotation=20, ha="right")
    axis.set_ylabel("speed-up over tf.nn.lrn")
    axis.set_title(f"lrn_op vs tf.nn.local_response_normalization ({lrn_op.numpy.simd_path()})")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _backends_main(args):
    """--backends, and --backend NAME: its per-backend processes."""
    from lrn_op import _bench_backends

    if args.backend:
        cases = [case for case in CASES if case.name in _bench_backends.CASE_NAMES]
        print(json.dumps(_bench_backends.measure(args.backend, cases, args.runs, args.warmup)))
        return
    results = {}
    for backend in ("jax", "torch"):
        results.update(_bench_process("--backend", False, args.runs, args.warmup, f"the {backend} process",
                                      extra=[backend], KERAS_BACKEND=backend))
    print(f"lrn_op {lrn_op.__version__} under JAX and PyTorch, each in a process of its own on {os.cpu_count()} "
          f"cores; milliseconds, median of {args.runs} runs [min-max]")
    print(_bench_backends.format_table(results))


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
    if args.backend or args.backends:
        return _backends_main(args)
    if args.simd and args.simd != "all":
        os.environ["LRN_OP_SIMD"] = args.simd  # read when the kernels first run, which is later
    if importlib.util.find_spec("tensorflow") is None:
        parser.error("the benchmark compares lrn_op with TensorFlow's LRN, and TensorFlow is not installed: "
                     "pip install 'lrn_op[tensorflow-cpu]'")

    def progress(line):
        print(line, file=sys.stderr, flush=True)

    if args.plot:
        _pyplot()  # say now, not after the whole benchmark, if matplotlib is missing
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
