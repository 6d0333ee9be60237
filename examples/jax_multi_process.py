"""Data-parallel training with lrn_op's Keras layer over several JAX processes (jax.distributed), each with its own
devices, as on several hosts. Here: two processes on 127.0.0.1, two CPU devices each.

    python jax_multi_process.py PROCESS_ID NUM_PROCESSES COORDINATOR_PORT OUT.npz

Each process feeds its own part of every global batch, and all of them end with the same weights, which it saves to
OUT.npz. With NUM_PROCESSES = 1 the script trains on the same global batches in one process, for comparison.
"""
import os
import sys

process_id, num_processes, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import jax  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")  # collectives between processes on CPU

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrn_op  # noqa: E402

GLOBAL_BATCH = 16
keras.distribution.initialize(f"127.0.0.1:{port}", num_processes, process_id)
distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices())
distribution.auto_shard_dataset = False  # each process picks its own rows below
keras.distribution.set_distribution(distribution)

keras.utils.set_random_seed(3)
model = keras.Sequential([
    keras.Input((8, 8, 6)),
    keras.layers.Conv2D(8, 3, padding="same"),
    lrn_op.LocalResponseNormalization(2, 1.0, 1e-2, 0.75),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(3),
])
model.compile(optimizer=keras.optimizers.SGD(0.05),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

# The same data in every process; each keeps its own rows of every global batch.
rng = np.random.default_rng(0)
images, labels = rng.standard_normal((64, 8, 8, 6)).astype(np.float32), rng.integers(0, 3, 64)
local_batch = GLOBAL_BATCH // num_processes
mine = np.concatenate([np.arange(start + process_id * local_batch, start + (process_id + 1) * local_batch)
                       for start in range(0, len(images), GLOBAL_BATCH)])
history = model.fit(images[mine], labels[mine], epochs=3, batch_size=local_batch, shuffle=False, verbose=0)

np.savez(out, *model.get_weights())
print(f"process {process_id} of {num_processes}: loss {history.history['loss'][0]:.4f} -> "
      f"{history.history['loss'][-1]:.4f} on {jax.device_count()} devices")
