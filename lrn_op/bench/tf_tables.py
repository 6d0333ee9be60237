"""The tables against TensorFlow: lrn_op's op against tf.nn.local_response_normalization and a copy, per case, per
SIMD path, after replace_builtin(), and a small network end to end."""
import statistics
from dataclasses import dataclass, field, replace

import numpy as np

import lrn_op
from lrn_op.bench.cases import CASES, SWEEP, Case
from lrn_op.bench.timing import bench_process, geomean, interleaved_samples, layout

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
        samples = interleaved_samples({key: variants[key] for key in columns if key in variants}, runs, warmup)
        rows.append(Row(case, {key: statistics.median(values) for key, values in samples.items()},
                        {key: (min(values), max(values)) for key, values in samples.items()}))
    return rows


def model_rows(runs=7, warmup=2, batches=(32, 1)):
    """Times a small AlexNet-style network (conv, relu, LRN, pool twice, then dense) with TF's LRN and with lrn_op's
    layer: one inference and one SGD training step each, interleaved, at each batch size (batch 1: the latency of a
    tf.function call). Returns [(what, tf_ms, lrn_op_ms)]."""
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
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    rows = []
    for batch in batches:
        images = tf.constant(rng.standard_normal((batch, 112, 112, 3)).astype(np.float32))
        labels = tf.constant(rng.integers(0, 10, batch))
        steps = {}
        for name, portable in (("tf", True), ("lrn_op", False)):
            model, optimizer = network(portable), keras.optimizers.SGD(0.01)

            def train(model=model, optimizer=optimizer, images=images, labels=labels):
                with tf.GradientTape() as tape:
                    value = loss(labels, model(images, training=True))
                gradients = tape.gradient(value, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables))
                return value

            steps[name] = {"inference": tf.function(lambda model=model, images=images: model(images)),
                           "training step": tf.function(train)}
        for what in ("inference", "training step"):
            # .numpy() waits for the result, so that each sample times the whole step.
            samples = interleaved_samples({name: lambda name=name: steps[name][what]().numpy() for name in steps},
                                          runs, warmup)
            rows.append((f"{what}, batch {batch}", statistics.median(samples["tf"]),
                         statistics.median(samples["lrn_op"])))
    return rows


def format_model_table(rows):
    lines = [["112x112x3 images", "with tf.nn.lrn ms", "with lrn_op ms", "lrn_op speed-up"]]
    lines += [[what, f"{theirs:.1f}", f"{ours:.1f}", f"{theirs / ours:.2f}x"] for what, theirs, ours in rows]
    return layout(lines)


def format_table(rows, full=True, spread=True):
    """One line per case: medians with [min-max] beside them, and the ratios (without `spread`: the medians alone and
    the ratios to TF, so that the demo's table fits 100 columns). A case TF cannot run has "-" in TF's columns and stays out of
    the "vs TF" geomeans."""
    header = ["case", "shape", "copy ms", "fwd ms", "TF fwd ms", "fwd vs TF", "fwd/copy"]
    if full:
        header += ["fwd+bwd ms", "TF fwd+bwd ms", "fwd+bwd vs TF", "fwd+bwd/3 copies"]
    lines = [header]

    def timing(row, column):
        if column not in row.ms:
            return "-"
        low, high = row.spread[column]
        return f"{row.ms[column]:.2f} [{low:.2f}-{high:.2f}]" if spread else f"{row.ms[column]:.2f}"

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
    if not spread:
        kept = [i for i, name in enumerate(header) if name not in ("shape", "copy ms", "fwd/copy", "fwd+bwd/3 copies")]
        lines = [[line[i] for i in kept] for line in lines]
    return layout(lines)


def measure_every_path(sweep, runs, warmup, progress):
    """Times lrn_op with each SIMD path of this architecture that the CPU runs, each path in a process of its own;
    returns Rows whose case names carry the path."""
    from lrn_op import _simd

    cases = {case.name: case for case in (SWEEP if sweep else CASES)}
    rows = []
    for path in _simd.SIMD_PATHS:
        report = bench_process("--json", sweep, runs, warmup, f"the {path} process", LRN_OP_SIMD=path)
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
    return bench_process("--replaced", sweep, runs, warmup, "the replace_builtin() process")


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
    return layout(lines)
