"""Loads lrn_op's TF side as soon as TensorFlow or Keras has been imported, in whichever order the imports come.

`tf.saved_model.load` of a graph with lrn_op's ops needs the op library loaded first, and `keras.models.load_model`
of a model with the layer needs the layer registered. `import lrn_op` must not import TensorFlow itself (so that
`lrn_op.numpy` never pays for it), so when TensorFlow is not imported yet, a finder on sys.meta_path waits for it:
once `tensorflow` or `keras` has finished importing, it loads the op library (if TensorFlow is imported: Keras on
the jax or torch backend does not import it, and neither does lrn_op then) and registers the layer, and steps off
sys.meta_path once TensorFlow is in. The finder only wraps the loader of those two modules while they execute.
"""
import importlib
import importlib.abc
import sys
import warnings

_WATCHED = ("tensorflow", "keras")


def _tensorflow_imported():
    return sys.modules.get("tensorflow") is not None


def load_tf_side():
    if _tensorflow_imported():
        importlib.import_module("lrn_op.ops")
    importlib.import_module("lrn_op.layers")


class _AfterImport(importlib.abc.MetaPathFinder):
    def __init__(self):
        self.executing = set()

    def find_spec(self, name, path, target=None):
        if name not in _WATCHED or name in self.executing:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader, self)
        return spec

    def finished(self, name):
        self.executing.discard(name)
        # `import keras` imports tensorflow on its way: wait until every watched import in progress is done.
        if self.executing or self not in sys.meta_path:
            return
        if _tensorflow_imported():  # else Keras runs another backend: TensorFlow may still come, and its ops
            sys.meta_path.remove(self)
        try:
            load_tf_side()
        except Exception as error:  # never break the user's `import tensorflow`; lrn_op's own import says more
            warnings.warn(f"lrn_op could not load its TensorFlow ops after TensorFlow was imported: {error}",
                          ImportWarning, stacklevel=2)


class _Loader(importlib.abc.Loader):
    """Runs the real loader, then tells the finder; the module keeps the real loader as its __loader__."""

    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = module.__loader__ = self.loader
        self.finder.executing.add(module.__name__)
        try:
            self.loader.exec_module(module)
        except BaseException:
            self.finder.executing.discard(module.__name__)
            raise
        self.finder.finished(module.__name__)


def install():
    """Loads the TF side now if TensorFlow or Keras is imported already, else once one of them is."""
    if any(sys.modules.get(name) is not None for name in _WATCHED):  # None: an import blocked on purpose
        load_tf_side()
    if not _tensorflow_imported() and not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())
