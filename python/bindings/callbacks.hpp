// Python callables called from native code that runs with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>

namespace mlprims::python {

// An iteration callback (IterativeOptions::callback) calling `callback(iteration, error)` under the
// GIL; its truthiness stops the solver, and a Python exception propagates out of the native call.
// None gives an empty function. The function holds a pointer, not a copy, of the Python object:
// native code copies and destroys the function with the GIL released, and copying a py::object
// changes its reference count, which needs the GIL. So `callback` must outlive the native call
// (a binding's own argument does).
inline std::function<bool(std::int64_t, double)> iteration_callback(const pybind11::object& callback) {
  if (callback.is_none()) return {};
  const pybind11::object* target = &callback;
  return [target](std::int64_t iteration, double error) {
    pybind11::gil_scoped_acquire acquire;
    return pybind11::bool_((*target)(iteration, error)).cast<bool>();
  };
}

}  // namespace mlprims::python
