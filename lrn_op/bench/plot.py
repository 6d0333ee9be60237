"""The bar chart of `--plot`: speed-up over tf.nn.lrn per case."""
import numpy as np

import lrn_op
import lrn_op.numpy


def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'lrn_op[plot]'") from None
    return plt


def plot(rows, path):
    plt = pyplot()
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
