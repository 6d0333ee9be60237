"""python -m lrn_op: the worked example next to tf.nn.local_response_normalization, then a short speed table.

Without TensorFlow installed it shows the worked example through the numpy front end and says how to get TF.
"""
import contextlib
import os
import re
import sys
import tempfile

import numpy as np

# The input [1, 2, 2, 8] with depth_radius=2, bias=0, alpha=1, beta=1.
EXAMPLE = np.array([[[[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]],
                     [[4, 3, 2, 1, 8, 7, 6, 5], [1, 2, 3, 4, 5, 6, 7, 8]]]], np.float32)
PARAMS = dict(depth_radius=2, bias=0.0, alpha=1.0, beta=1.0)
# By hand: 1 / (1^2 + 2^2 + 3^2) and 4 / (2^2 + 3^2 + 4^2 + 5^2 + 6^2).
BY_HAND = {(0, 0, 0, 0): 1 / 14, (0, 0, 0, 3): 4 / 90}


def show_example(name, output, builtin=None):
    """Prints the worked example; returns whether every value matches its hand computation."""
    print(f"Worked example: input {list(EXAMPLE.shape)}, {PARAMS}")
    all_match = True
    for index, exact in BY_HAND.items():
        matches = abs(output[index] - exact) <= 1e-7 * exact
        all_match = all_match and matches
        verdict = "matches" if matches else "DIFFERS"
        line = f"  output{list(index)} = {output[index]:.8f}   by hand {exact:.8f} ({verdict})"
        if builtin is not None:
            line += f"   tf.nn.lrn {builtin[index]:.8f}"
        print(line)
    print(f"  first pixel, {name}: {np.array2string(output[0, 0, 0], precision=6)}")
    return all_match


# What TF prints to file descriptor 2 while it is imported, before its log level applies: absl's notice, INFO lines
# (oneDNN, the CPU features) and the second line of the CPU features' message.
_START_UP = re.compile(r"WARNING: All log messages before absl::InitializeLog|I\d{4} |To enable the following "
                       r"instructions")


@contextlib.contextmanager
def _quiet_start_up():
    """Holds back TF's start-up lines, which would come before the demo's results; whatever else is written to
    standard error meanwhile goes through."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines(keepends=True):
                if not _START_UP.match(line):
                    sys.stderr.write(line)


def main():
    try:
        with _quiet_start_up():
            import tensorflow as tf
    except ImportError:
        import lrn_op.numpy

        output = lrn_op.numpy.local_response_normalization(EXAMPLE, **PARAMS)
        by_hand = show_example("lrn_op.numpy", output)
        print("\nTensorFlow is not installed, so this shows the numpy front end only. For the TF op, its gradient "
              "and the comparison with tf.nn.lrn:\n  pip install 'lrn_op[tensorflow-cpu]'")
        return 0 if by_hand else 1

    import lrn_op
    from lrn_op.bench import cases, tf_tables

    output = lrn_op.local_response_normalization(EXAMPLE, **PARAMS).numpy()
    builtin = tf.nn.local_response_normalization(EXAMPLE, **PARAMS).numpy()
    by_hand = show_example("lrn_op", output, builtin)
    difference = float(np.max(np.abs(output - builtin)))
    matches = difference <= 1e-6
    print(f"  max |lrn_op - tf.nn.lrn| over all 32 outputs = {difference:.2e}: "
          f"{'they match' if matches else 'THEY DIFFER'}")

    print("\nSpeed against tf.nn.lrn (float32, 3 runs each; `python -m lrn_op.bench` runs the full benchmark):")
    rows = tf_tables.measure(cases.CASES[:2] + cases.CASES[3:], runs=3, warmup=1)
    print(tf_tables.format_table(rows, spread=False))
    return 0 if matches and by_hand else 1


if __name__ == "__main__":
    sys.exit(main())
