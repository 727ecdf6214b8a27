// Python callables called from native code that runs with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>

namespace mlprims::python {

// An iteration callback (IterativeOptions::callback) calling `callback(iteration, error)` under the
// GIL; its truthiness stops the solver, and a Python exception propagates out of the native call.
// None gives an empty function. The Python object must outlive the native call (the caller's
// argument does).
inline std::function<bool(std::int64_t, double)> iteration_callback(const pybind11::object& callback) {
  if (callback.is_none()) return {};
  return [callback](std::int64_t iteration, double error) {
    pybind11::gil_scoped_acquire acquire;
    return pybind11::bool_(callback(iteration, error)).cast<bool>();
  };
}

}  // namespace mlprims::python
