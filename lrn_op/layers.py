"""The Keras layer: a thin shell over lrn_op's kernels in the backend's own front end (lrn_op.ops for TensorFlow,
lrn_op.jax, lrn_op.torch), or, portable under TensorFlow, over TF's own op. It imports only the running backend."""
import importlib

import keras

from lrn_op import _params

_DATA_FORMATS = {"channels_last": "NHWC", "channels_first": "NCHW"}
_PORTABLE_DTYPES = ("float16", "bfloat16", "float32")
# The front end of lrn_op's kernels for each Keras backend, with its local_response_normalization.
_FRONT_ENDS = {"tensorflow": "lrn_op.ops", "jax": "lrn_op.jax", "torch": "lrn_op.torch"}


@keras.saving.register_keras_serializable(package="lrn_op")
class LocalResponseNormalization(keras.layers.Layer):
    """Local Response Normalization over the channel axis; see `lrn_op.local_response_normalization` for the math.

    Args:
      depth_radius: int, default 5. The half-width of the window over the channels.
      bias: float, default 1.0.
      alpha: float, default 1.0. Not divided by the window size (see `lrn_op.convert` for PyTorch, Caffe, ONNX).
      beta: float, default 0.5.
      data_format: "channels_last" (NHWC) or "channels_first" (NCHW, computed natively); None takes
        `keras.config.image_data_format()`.
      portable: bool, default False. Under the tensorflow backend, True calls TensorFlow's own
        `tf.nn.local_response_normalization` instead of lrn_op's op, so that a model built with it holds only TF's
        builtin ops: its SavedModel loads where lrn_op is not installed, and `tf.lite.TFLiteConverter` converts it
        to TFLite's builtin LRN. It covers what TF's op covers: channels_last, and float16, bfloat16 (computed
        through float32, since TF has no CPU kernel for it) and float32 inputs. After `lrn_op.replace_builtin()` it
        runs lrn_op's kernels all the same. JAX and PyTorch have no LRN of their own, so under those backends the
        flag changes nothing: the layer runs lrn_op's kernels, and a model saved with it loads under any backend
        (one saved with a torch optimizer's state needs compile=False where PyTorch is not installed).
      **kwargs: the base Layer's arguments (name, dtype, ...).

    Shape:
      Input: 4-D, (batch, height, width, channels) or (batch, channels, height, width). Output: the same.

    Example:
      >>> model = keras.Sequential([keras.Input((27, 27, 256)), lrn_op.LocalResponseNormalization(2, 2.0, 1e-4, 0.75)])
    """

    def __init__(self, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format=None, portable=False, **kwargs):
        backend = keras.backend.backend()
        if backend not in _FRONT_ENDS:
            raise RuntimeError(
                f"lrn_op.LocalResponseNormalization runs under Keras's {', '.join(_FRONT_ENDS)} backends; this "
                f"process runs the {backend!r} backend (KERAS_BACKEND).")
        super().__init__(**kwargs)
        data_format = data_format or keras.config.image_data_format()
        if data_format not in _DATA_FORMATS:
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
        if not isinstance(portable, bool):
            raise TypeError(f"portable must be True or False, got {portable!r}")
        if portable and data_format != "channels_last":
            raise ValueError("portable=True needs data_format='channels_last': TensorFlow's own LRN is NHWC only; "
                             f"got {data_format!r}")
        checked = _params.check(depth_radius, bias, alpha, beta)
        self.depth_radius = checked["depth_radius"]
        self.bias = checked["bias"]
        self.alpha = checked["alpha"]
        self.beta = checked["beta"]
        self.data_format = data_format
        self.portable = portable
        # Resolved here, not in call: torch.compile traces call, and an import there would break its graph.
        self._builtin_op = portable and backend == "tensorflow"
        self._kernels = importlib.import_module(_FRONT_ENDS[backend]).local_response_normalization
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        if self._builtin_op:
            return self._builtin(inputs)
        return self._kernels(inputs, self.depth_radius, self.bias, self.alpha, self.beta,
                             data_format=_DATA_FORMATS[self.data_format])

    def _builtin(self, inputs):
        import tensorflow as tf

        dtype = tf.as_dtype(inputs.dtype)
        if dtype.name not in _PORTABLE_DTYPES:
            raise ValueError("portable=True covers float16, bfloat16 and float32 inputs, the dtypes of TensorFlow's "
                             f"own LRN; got {dtype.name}: use portable=False")
        # TF has no CPU kernel for bfloat16 LRN; through float32 the graph runs anywhere, with the same rounding.
        x = tf.cast(inputs, tf.float32) if dtype == tf.bfloat16 else inputs
        y = tf.nn.local_response_normalization(x, self.depth_radius, self.bias, self.alpha, self.beta)
        return tf.cast(y, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias, "alpha": self.alpha,
                "beta": self.beta, "data_format": self.data_format, "portable": self.portable}
