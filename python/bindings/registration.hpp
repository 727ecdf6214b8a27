// Each primitive's bindings live in their own file and register here.
#pragma once

#include <pybind11/pybind11.h>

namespace mlprims::python {

void register_special(pybind11::module_& m);
void register_vmf(pybind11::module_& m);
void register_mfac(pybind11::module_& m);
void register_lowrank(pybind11::module_& m);

}  // namespace mlprims::python
