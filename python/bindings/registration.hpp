// Each primitive's bindings live in their own file and register into their own submodule of
// mlprims._core (mlprims._core.special, ...); test hooks go to mlprims._core.testing.
#pragma once

#include <pybind11/pybind11.h>

namespace mlprims::python {

void register_special(pybind11::module_& special);
void register_vmf(pybind11::module_& vmf);
void register_mfac(pybind11::module_& mfac);
void register_lowrank(pybind11::module_& lowrank, pybind11::module_& testing);
void register_ot(pybind11::module_& ot);
void register_sparse(pybind11::module_& sparse);

}  // namespace mlprims::python
