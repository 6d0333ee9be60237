// A numpy front end over the same math as the TF op (lrn_api.h), with no TensorFlow anywhere. lrn_op/numpy.py
// checks the arguments and allocates C-contiguous arrays; this file checks them again before any pointer is used,
// dispatches on the element type and splits the tiles over every core with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <initializer_list>
#include <new>
#include <string>

#include "lrn_api.h"
#include "parallel.h"

namespace py = pybind11;

namespace {

// Runs the kernels over every core with the GIL released.
template <class Body>
void parallel_tiles(int64_t tiles, Body body) {
  bool ok;
  {
    py::gil_scoped_release release;
    ok = lrn::parallel_tiles(tiles, body);
  }
  if (!ok) throw std::bad_alloc();
}

// The layout of x, after checking what lrn_op.numpy guarantees, as the TF kernels check what the TF wrappers do:
// the kernels index every array by x's shape, so a mismatch here must be an exception, not a stray write.
lrn::Layout checked_layout(const py::array& x, std::initializer_list<const py::array*> others,
                           const lrn::Params& params, bool channels_first) {
  const std::string problem = lrn::check_params(params);
  if (!problem.empty()) throw py::value_error(problem);
  for (const py::array* a : others) {
    if (a->ndim() != 4 || x.ndim() != 4 || !a->dtype().is(x.dtype()) ||
        !std::equal(x.shape(), x.shape() + 4, a->shape()) ||
        !(a->flags() & py::array::c_style) || !(x.flags() & py::array::c_style)) {
      throw py::value_error("all arrays must be C-contiguous, 4-dimensional and of one shape and dtype");
    }
  }
  const int64_t dims[4] = {x.shape(0), x.shape(1), x.shape(2), x.shape(3)};
  return lrn::layout_of(dims, channels_first);
}

// Calls fn with a null pointer of the storage type that matches the array's dtype.
template <class Fn>
void with_storage_type(const py::array& x, Fn fn) {
  const std::string name = py::str(x.dtype().attr("name"));
  if (name == "float32") return fn(static_cast<float*>(nullptr));
  if (name == "float64") return fn(static_cast<double*>(nullptr));
  if (name == "float16") return fn(static_cast<lrn::f16*>(nullptr));
  if (name == "bfloat16") return fn(static_cast<lrn::bf16*>(nullptr));
  throw py::type_error("unsupported dtype " + name);
}

void forward(const py::array& x, py::array& y, const lrn::Params& params, bool channels_first) {
  const lrn::Layout layout = checked_layout(x, {&x, &y}, params, channels_first);
  with_storage_type(x, [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    const T* in = static_cast<const T*>(x.data());
    T* out = static_cast<T*>(y.mutable_data());
    parallel_tiles(lrn::num_tiles(layout), [&](int64_t begin, int64_t end) {
      return lrn::forward(in, out, layout, params, begin, end);
    });
  });
}

void backward(const py::array& dy, const py::array& x, const py::array& y, py::array& dx, const lrn::Params& params,
              bool channels_first) {
  const lrn::Layout layout = checked_layout(x, {&x, &dy, &y, &dx}, params, channels_first);
  with_storage_type(x, [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    const T* g = static_cast<const T*>(dy.data());
    const T* in = static_cast<const T*>(x.data());
    const T* out = static_cast<const T*>(y.data());
    T* grad = static_cast<T*>(dx.mutable_data());
    parallel_tiles(lrn::num_tiles(layout), [&](int64_t begin, int64_t end) {
      return lrn::backward(g, in, out, grad, layout, params, begin, end);
    });
  });
}

}  // namespace

PYBIND11_MODULE(_lrn_numpy, m) {
  m.doc() = "LRN kernels over C-contiguous 4-D numpy arrays; lrn_op.numpy is the documented API.";
  py::class_<lrn::Params>(m, "Params")
      .def(py::init<int64_t, double, double, double>(), py::arg("depth_radius"), py::arg("bias"), py::arg("alpha"),
           py::arg("beta"));
  m.def("forward", &forward, "y <- LRN(x), in place into y.", py::arg("x"), py::arg("y"), py::arg("params"),
        py::arg("channels_first"));
  m.def("backward", &backward, "dx <- the LRN gradient for dy at x, y = LRN(x), in place into dx.", py::arg("dy"),
        py::arg("x"), py::arg("y"), py::arg("dx"), py::arg("params"), py::arg("channels_first"));
  m.def("simd_path", &lrn::simd_path, "The SIMD path in use: avx512, avx2 or baseline.");
}
