// pybind11 bindings over lrn_api.h's one entry, for lrn_op.numpy and lrn_op.torch: numpy arrays in (torch tensors
// arrive as numpy views of their memory), the work done with the GIL released, a Status raised as the Python
// exception it names.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "lrn_api.h"

namespace py = pybind11;

namespace {

// numpy's type numbers (NPY_FLOAT, NPY_DOUBLE, NPY_HALF), fixed in its ABI.
constexpr int kNpyFloat = 11, kNpyDouble = 12, kNpyHalf = 23;
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// An array as the entry sees it. The entry reads its memory as dense and row-major, which is what C-contiguous
// guarantees; lrn_op.numpy and lrn_op.torch hand over nothing else.
lrn::Operand operand(const char* name, const py::array& array) {
  lrn::Operand result;
  result.name = name;
  // numpy's own types by their number; any other (ml_dtypes' bfloat16, or one the entry refuses) by its name, which
  // is slower to build.
  switch (array.dtype().num()) {
    case kNpyFloat: result.dtype = lrn::DType::kF32; break;
    case kNpyDouble: result.dtype = lrn::DType::kF64; break;
    case kNpyHalf: result.dtype = lrn::DType::kF16; break;
    default:
      result.type_name = py::str(array.dtype().attr("name"));
      if (result.type_name == "bfloat16") result.dtype = lrn::DType::kBF16;
  }
  result.dims.assign(array.shape(), array.shape() + array.ndim());
  if (!(array.flags() & py::array::c_style)) throw py::value_error(std::string(name) + " must be C-contiguous");
  // numpy gives one type number to both byte orders; the kernels read the machine's. The front ends convert other
  // arrays (lrn_op._checks.COERCION); this refuses what reaches the module otherwise, such as out=.
  const char order = array.dtype().byteorder();
  if (order == (kLittleEndian ? '>' : '<')) {
    throw py::value_error(std::string(name) + " must be in the machine's byte order (" +
                          (kLittleEndian ? "little" : "big") + "-endian), got a " +
                          (kLittleEndian ? "big" : "little") + "-endian array");
  }
  result.data = array.data();
  return result;
}

void compute(lrn::Request& request, const py::array& out, int max_threads) {
  request.out = operand("out", out);
  if (!out.writeable()) throw py::value_error("out must be writeable");
  request.threads.max_threads = max_threads;
  lrn::Status status;
  {
    py::gil_scoped_release release;
    status = lrn::compute(request);
  }
  switch (status.code) {
    case lrn::Code::kOk: return;
    case lrn::Code::kInvalidArgument: throw py::value_error(status.message);
    case lrn::Code::kWrongType: throw py::type_error(status.message);
    case lrn::Code::kOutOfMemory: PyErr_SetString(PyExc_MemoryError, status.message.c_str()); throw py::error_already_set();
    default: throw std::runtime_error(status.message);
  }
}

void forward(const py::array& x, const py::array& out, const lrn::Params& params, bool channels_first,
             int max_threads) {
  lrn::Request request{lrn::Direction::kForward, params, channels_first};
  request.x = operand("x", x);
  compute(request, out, max_threads);
}

void backward(const py::array& dy, const py::array& x, const py::array& y, const py::array& out,
              const lrn::Params& params, bool channels_first, int max_threads) {
  lrn::Request request{lrn::Direction::kBackward, params, channels_first};
  request.x = operand("x", x);
  request.dy = operand("dy", dy);
  request.y = operand("y", y);
  compute(request, out, max_threads);
}

}  // namespace

PYBIND11_MODULE(_lrn_numpy, m) {
  m.doc() = "lrn_op's kernels over C-contiguous numpy arrays of rank 3 or more; lrn_op.numpy is the documented API.";
  py::class_<lrn::Params>(m, "Params")
      .def(py::init<int64_t, int64_t, double, double, double>(), py::arg("before"), py::arg("after"),
           py::arg("bias"), py::arg("alpha"), py::arg("beta"));
  m.def("forward", &forward, "out <- LRN(x).", py::arg("x"), py::arg("out"), py::arg("params"),
        py::arg("channels_first"), py::arg("max_threads") = 0);
  m.def("backward", &backward, "out <- the LRN gradient for dy at x, given y = LRN(x).", py::arg("dy"), py::arg("x"),
        py::arg("y"), py::arg("out"), py::arg("params"), py::arg("channels_first"), py::arg("max_threads") = 0);
  m.def("simd_path", &lrn::simd_path, "The SIMD path in use: avx512, avx2 or baseline (x86-64), neon (aarch64).");
  m.def("allowed_cpus", &LrnOpCoreAllowedCpus, "The CPUs this process may run on: the pool's default size.");
}
