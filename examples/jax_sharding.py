"""lrn_op.jax in a sharded JAX program: the batch split over four CPU devices stays split through the LRN and its
gradient, with no collective; a split over the channels stays split too, each shard taking the few neighbouring
channels it needs from the shards beside it (collective-permute). Every split gives the same bits as one device.

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python jax_sharding.py

(The script sets that flag itself when it is not set. lrn_op's kernels are CPU kernels.)
"""
import os
import re

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec  # noqa: E402

import lrn_op.jax  # noqa: E402

COLLECTIVES = r"\b(all-gather|all-reduce|all-to-all|collective-permute|reduce-scatter)(?:-start)?\("


def collectives(jitted, *args):
    """The collectives in the program XLA compiled, by name."""
    return sorted(re.findall(COLLECTIVES, jitted.lower(*args).compile().as_text()))


def lrn(images):
    return lrn_op.jax.local_response_normalization(images, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)


forward = jax.jit(lrn)
gradient = jax.jit(jax.grad(lambda images, dy: jnp.sum(lrn(images) * dy)))

mesh = Mesh(np.array(jax.devices()), ("devices",))
rng = np.random.default_rng(0)
images = rng.standard_normal((8, 8, 8, 16)).astype(np.float32)
dy = rng.standard_normal(images.shape).astype(np.float32)
unsharded_y, unsharded_dx = np.asarray(forward(images)), np.asarray(gradient(images, dy))

for axis in ("batch", "height", "width", "channels"):
    spec = PartitionSpec(*[None] * "batch height width channels".split().index(axis), "devices")
    sharded = jax.device_put(images, NamedSharding(mesh, spec))
    sharded_dy = jax.device_put(dy, NamedSharding(mesh, spec))
    y, dx = forward(sharded), gradient(sharded, sharded_dy)
    print(f"split over {axis:8}: result sharded {y.sharding.spec}; "
          f"collectives: forward {collectives(forward, sharded) or 'none'}, "
          f"gradient {collectives(gradient, sharded, sharded_dy) or 'none'}; "
          f"same as on one device: {np.array_equal(y, unsharded_y) and np.array_equal(dx, unsharded_dx)}")
