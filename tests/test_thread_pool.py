"""lrn_op's one thread pool (cc/thread_pool.h): its workers are started once and parked between calls, and never more
of them than the call may use: the process's CPU affinity, tf.config.threading's intra-op setting under TF,
torch.set_num_threads under PyTorch, XLA's intra-op pool under JAX. Each case runs in a process of its own and counts the pool's threads by name."""
import os

import numpy as np
import pytest

from conftest import run_python

HERE = os.path.dirname(os.path.abspath(__file__))

COUNT_POOL_THREADS = """
import glob
def pool_threads():
    names = []
    for path in glob.glob('/proc/self/task/*/comm'):
        try:
            names.append(open(path).read().strip())
        except FileNotFoundError:  # a thread that ended meanwhile
            pass
    return names.count('lrn_op pool')
"""

# A tensor of many tiles, so that every CPU allowed gets work.
CALLS = {
    "numpy": "import numpy as np, lrn_op.numpy as m\nx = np.ones((16, 32, 32, 64), np.float32)\n"
             "call = lambda: m.local_response_normalization(x, 2)\n",
    "torch": "import torch, lrn_op.torch as m\nx = torch.ones(16, 32, 32, 64)\n"
             "call = lambda: m.local_response_normalization(x, 2)\n",
    "tensorflow": "import tensorflow as tf, lrn_op\nx = tf.ones((16, 32, 32, 64))\n"
                  "call = lambda: lrn_op.lrn(x, 2).numpy()\n",
    "jax": "import jax.numpy as jnp, lrn_op.jax as m\nx = jnp.ones((16, 32, 32, 64))\n"
           "call = lambda: m.local_response_normalization(x, 2).block_until_ready()\n",
}
LIMITS = {
    "affinity": "import os\nos.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n",
    "torch.set_num_threads": "import torch\ntorch.set_num_threads(1)\n",
    "intra-op setting": "import tensorflow as tf\ntf.config.threading.set_intra_op_parallelism_threads(1)\n",
    # TF lets the setting change until its context starts: after lrn_op has loaded its ops, before any op runs.
    "intra-op setting after import": "import tensorflow as tf, lrn_op\nlrn_op.load_ops()\n"
                                     "tf.config.threading.set_intra_op_parallelism_threads(1)\n",
}


def pool_threads_after_calls(setup):
    result = run_python(COUNT_POOL_THREADS + setup + "before = pool_threads()\nfor _ in range(5):\n    call()\n"
                        "print(before, pool_threads())\n")
    assert result.returncode == 0, result.stderr[-2000:]
    return tuple(map(int, result.stdout.split()[-2:]))


@pytest.mark.parametrize("front_end", sorted(CALLS))
def test_workers_start_once_up_to_the_cpus_the_process_may_use(front_end):
    before, after = pool_threads_after_calls(CALLS[front_end])
    assert before == 0  # started when first needed, not at import
    assert after == len(os.sched_getaffinity(0)) - 1  # the calling thread is the last of them


@pytest.mark.parametrize("front_end,limit", [("numpy", "affinity"), ("torch", "affinity"), ("tensorflow", "affinity"),
                                             ("jax", "affinity"), ("torch", "torch.set_num_threads"),
                                             ("tensorflow", "intra-op setting"),
                                             ("tensorflow", "intra-op setting after import")])
def test_a_limit_of_one_thread_starts_no_worker(front_end, limit):
    assert pool_threads_after_calls(LIMITS[limit] + CALLS[front_end]) == (0, 0)


def test_every_front_end_in_one_process_shares_one_pool():
    # TF's op, TF's own LRN under replace_builtin, numpy, PyTorch and JAX all load the one _lrn_core.so: their
    # workers together never pass the CPUs the process may use.
    setup = "".join(CALLS[name].replace("x = ", f"x_{name} = ").replace("(x, ", f"(x_{name}, ")
                    .replace(" as m\n", f" as m_{name}\n").replace(": m.", f": m_{name}.")
                    .replace("call = ", f"call_{name} = ") for name in sorted(CALLS))
    setup += ("lrn_op.replace_builtin()\n"
              "call_builtin = lambda: tf.nn.local_response_normalization(x_tensorflow, 2).numpy()\n"
              "def call():\n" + "".join(f"    call_{name}()\n" for name in [*sorted(CALLS), "builtin"]))
    before, after = pool_threads_after_calls(setup)
    assert (before, after) == (0, len(os.sched_getaffinity(0)) - 1)


EIGHT_CALLERS = """
import threading
import numpy as np, lrn_op.numpy as m
x = np.random.default_rng(3).standard_normal((16, 27, 27, 96)).astype(np.float32)
expected = m.local_response_normalization(x, 2, 1.0, 1e-2, 0.75)
results = [None] * 8
def run(k):
    results[k] = [m.local_response_normalization(x, 2, 1.0, 1e-2, 0.75) for _ in range(5)]
callers = [threading.Thread(target=run, args=(k,)) for k in range(8)]
for c in callers: c.start()
for c in callers: c.join()
print(all(np.array_equal(r, expected) for calls in results for r in calls), pool_threads())
"""


def test_eight_concurrent_callers_get_the_same_bits():
    # 16x27x27x96 is 729 tiles, far past the pool's threshold: every call splits over the workers, which the eight
    # callers share.
    result = run_python(COUNT_POOL_THREADS + EIGHT_CALLERS)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["True", str(len(os.sched_getaffinity(0)) - 1)]


FLOATING_POINT_MODE = """
import sys
import numpy as np
from fp_mode import set_flush_to_zero
from lrn_op import _lrn_numpy
x = np.full((64, 64, 64, 16), 1e-30, np.float32)  # y = 1e-40: a float32 subnormal, which flush-to-zero makes 0
params = _lrn_numpy.Params(2, 2, 1e20, 0.0, 0.5)
def lrn(threads):
    out = np.full_like(x, -1.0)
    _lrn_numpy.forward(x, out, params, False, threads)
    return out
set_flush_to_zero(sys.argv[1] == "flush")  # the mode the workers start under
lrn(0)
for flush in (False, True):
    set_flush_to_zero(flush)
    print(flush, *[np.unique(lrn(threads)).tolist() for threads in (1, 2, 0)])
"""


@pytest.mark.parametrize("started_under", ["default", "flush"])
def test_every_tile_runs_under_the_callers_floating_point_mode(started_under):
    # fp_mode.py from here, and whatever else the environment puts on the path (the aarch64 check's packages).
    path = os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")]))
    result = run_python(FLOATING_POINT_MODE, started_under, env={"PYTHONPATH": path})
    assert result.returncode == 0, result.stderr[-2000:]
    subnormal = float(np.float32(1e-40))
    assert result.stdout.splitlines()[-2:] == [f"False {[subnormal]} {[subnormal]} {[subnormal]}",
                                               "True [0.0] [0.0] [0.0]"]
