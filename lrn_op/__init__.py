"""Local Response Normalization as a TensorFlow custom op, with front ends for JAX, PyTorch and numpy.

    sqr_sum[n, h, w, c] = sum(input[n, h, w, c - r : c + r + 1] ** 2)   (window clipped at the edges)
    output = input / (bias + alpha * sqr_sum) ** beta                   (r = depth_radius)

A drop-in for tf.nn.local_response_normalization. `import lrn_op` never imports TensorFlow itself, so that
`lrn_op.numpy`, `lrn_op.jax`, `lrn_op.torch` and the Keras layer under Keras's jax or torch backend work without it.
Once TensorFlow or Keras is imported, before lrn_op or after it, lrn_op registers its Keras layer and, if TensorFlow
is in, loads its op library: `keras.models.load_model` and `tf.saved_model.load` need them (lrn_op/_hooks.py).
"""
import importlib

__version__ = "0.1.0"

_LAZY = {
    "local_response_normalization": "lrn_op.ops",
    "lrn": "lrn_op.ops",
    "local_response_normalization_grad": "lrn_op.ops",
    "load_ops": "lrn_op.ops",
    "LocalResponseNormalization": "lrn_op.layers",
    "convert": "lrn_op.convert",
    "replace_builtin": "lrn_op.builtin",
    "builtin_replaced": "lrn_op.builtin",
}

__all__ = sorted(_LAZY)


def _not_built(error):
    """The ImportError for a package without its compiled libraries: the source tree rather than an install."""
    import os

    return ImportError(
        f"lrn_op's compiled libraries are not in {os.path.dirname(__file__)} ({error}). This looks like the source "
        "tree rather than the installed package: install it with `pip install .` and run Python from outside the "
        "source directory.")


def __getattr__(name):
    if name in _LAZY:
        try:
            module = importlib.import_module(_LAZY[name])
        except ModuleNotFoundError as error:
            if error.name not in ("tensorflow", "keras"):
                raise
            # An AttributeError, so that hasattr() says False; the message says what to install.
            if error.name == "keras":
                raise AttributeError(
                    f"lrn_op.{name} needs Keras 3, which is not installed: pip install 'lrn_op[jax]', "
                    "'lrn_op[torch]' or 'lrn_op[tensorflow-cpu]'. lrn_op.numpy works without it.") from error
            message = (f"lrn_op.{name} needs TensorFlow, which is not installed: pip install 'lrn_op[tensorflow-cpu]' "
                       "(or 'lrn_op[tensorflow]'). lrn_op.numpy, lrn_op.jax and lrn_op.torch work without it.")
            if name == "LocalResponseNormalization":
                message += (" Or run Keras on JAX or PyTorch, which need no TensorFlow: KERAS_BACKEND=jax with "
                            "'lrn_op[jax]', KERAS_BACKEND=torch with 'lrn_op[torch]'.")
            raise AttributeError(message) from error
        value = module if module.__name__ == f"lrn_op.{name}" else getattr(module, name)
        globals()[name] = value  # later lookups are plain attribute reads: through __getattr__ each cost 1.3 us
        return value
    raise AttributeError(f"module 'lrn_op' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


from lrn_op import _hooks  # noqa: E402  (after __getattr__: the hook may import lrn_op.layers at once)

_hooks.install()
