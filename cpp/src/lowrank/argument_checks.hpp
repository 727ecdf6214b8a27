// Argument checks and host reads shared by the low-rank entry points: the problem's shapes,
// dtypes and devices, and the diagonal and Gram weights (checked and read as doubles on the host,
// downloaded from W's device when they are there).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/checks.hpp"
#include "lowrank/backend.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::lowrank::detail {

using mlprims::detail::ArgRef;

// Optional inputs are views without data.
inline bool present(const TensorView& t) { return t.data() != nullptr; }

using mlprims::detail::require_contiguous;

// A tensor's values readable on the host: the tensor itself when it is in CPU memory, else a copy
// downloaded through `memory` (the back end of W) into `storage`; a tensor on another device than
// W's is a ValueError.
TensorView host_view(const TensorView& t, const TensorView& W, const BackendMemory& memory,
                     std::vector<unsigned char>& storage, ArgRef arg);

// Checks W and the outputs; returns (m, n).
std::pair<std::int64_t, std::int64_t> check_problem(const char* function, const TensorView& W, std::int64_t rank,
                                                    const TensorView& left, const TensorView& right,
                                                    const TensorView& singular_values);

// All elements of a C-contiguous float32/float64 view in CPU memory, as doubles.
std::vector<double> as_doubles(const TensorView& t);

// ValueError naming the first element that is negative, NaN or inf; its position is printed as
// "index i" for vectors (columns == 0) and "(i, j)" for row-major matrices with `columns` columns.
void require_nonnegative(const std::vector<double>& values, std::int64_t columns, ArgRef arg);

// Weights of one kind as doubles, checked: shape, finite, >= 0, not all zero (all-zero weights make
// the objective 0 for any factors: no answer to report).
std::vector<double> diagonal_weights(const TensorView& t, std::int64_t length, const TensorView& W,
                                     const BackendMemory& memory, ArgRef arg);

// A Gram matrix's values as doubles, checked: shape, finite, symmetric, not zero; and max |G|.
std::pair<std::vector<double>, double> checked_gram(const TensorView& t, std::int64_t size, const TensorView& W,
                                                    const BackendMemory& memory, ArgRef arg);

// The smallest documented shift that lets `factorize` (a Cholesky factorization in place of its
// column-major argument, lower triangle; the strictly upper part is zeroed beforehand) succeed on
// the checked Gram matrix g; returns the shift.
template <class Factorize>
double cholesky_with_shift(const std::vector<double>& g, std::int64_t size, double largest, ArgRef arg,
                           Factorize&& factorize) {
  for (double shift = 0.0;; shift = shift == 0.0 ? 1e-12 * largest : 10.0 * shift) {
    std::vector<double> shifted(g);
    for (std::int64_t j = 0; j < size; ++j) {
      shifted[j * size + j] += shift;
      for (std::int64_t i = 0; i < j; ++i) shifted[j * size + i] = 0.0;
    }
    if (factorize(shifted)) return shift;
    // Rounding needs shifts of ~eps n ||G||; a matrix that needs more than 1e-6 ||G|| is indefinite.
    if (shift >= 1e-6 * largest) {
      throw ValueError(arg.prefix() + " must be positive semi-definite (Cholesky failed even with a shift of " +
                       mlprims::detail::format_double(shift, 3) + " = 1e-6 max|G|)");
    }
  }
}

}  // namespace mlprims::lowrank::detail
