"""The Keras layer: a thin shell over lrn_op.local_response_normalization."""
import keras

from lrn_op import _params, ops

_DATA_FORMATS = {"channels_last": "NHWC", "channels_first": "NCHW"}


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
      **kwargs: the base Layer's arguments (name, dtype, ...).

    Shape:
      Input: 4-D, (batch, height, width, channels) or (batch, channels, height, width). Output: the same.

    Example:
      >>> model = keras.Sequential([keras.Input((27, 27, 256)), lrn_op.LocalResponseNormalization(2, 2.0, 1e-4, 0.75)])
    """

    def __init__(self, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, data_format=None, **kwargs):
        super().__init__(**kwargs)
        data_format = data_format or keras.config.image_data_format()
        if data_format not in _DATA_FORMATS:
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
        checked = _params.check(depth_radius, bias, alpha, beta)
        self.depth_radius = checked["depth_radius"]
        self.bias = checked["bias"]
        self.alpha = checked["alpha"]
        self.beta = checked["beta"]
        self.data_format = data_format
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        return ops.local_response_normalization(inputs, self.depth_radius, self.bias, self.alpha, self.beta,
                                                data_format=_DATA_FORMATS[self.data_format])

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias, "alpha": self.alpha,
                "beta": self.beta, "data_format": self.data_format}
