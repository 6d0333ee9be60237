"""lrn_op.jax: the kernels as XLA custom calls, under jax.jit, jax.grad and jax.vmap, with no TensorFlow."""
import jax
import jax.numpy as jnp

import lrn_op.jax


def lrn(images):
    return lrn_op.jax.local_response_normalization(images, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)


images = jax.random.normal(jax.random.key(0), (8, 27, 27, 256))
y = jax.jit(lrn)(images)
dx = jax.jit(jax.grad(lambda t: jnp.sum(lrn(t) ** 2)))(images)
batched = jax.vmap(lrn)(jnp.stack([images, 2 * images]))  # axes before the four count as batch
print(f"y {y.shape} {y.dtype}, dx {dx.shape}, vmap {batched.shape}, SIMD path {lrn_op.jax.simd_path()}")
