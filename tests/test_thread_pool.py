"""lrn_op's one thread pool (cc/thread_pool.h): its workers are started once and parked between calls, and never more
of them than the call may use: the process's CPU affinity, tf.config.threading's intra-op setting under TF,
torch.set_num_threads under PyTorch, XLA's intra-op pool under JAX. Each case runs in a process of its own and counts the pool's threads by name."""
import os

import pytest

from conftest import run_python

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
