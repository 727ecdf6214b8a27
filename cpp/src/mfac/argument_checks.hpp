// Checks shared by the M-FAC entry points.
#pragma once

#include <cstdint>
#include <string>

#include "core/checks.hpp"
#include "mfac/gradient_rows.hpp"

namespace mlprims::mfac::detail {

// A gradient matrix (m, d): float32, float64 or bfloat16, m >= 1, d >= 1, rows contiguous.
GradientRows checked_gradients(const TensorView& grads, mlprims::detail::ArgRef arg);

void check_damp(double damp, const char* function);

// x of shape (d,) or (k, d) and out of the same shape, float32/float64, on `device`, writable,
// not overlapping x.
void check_vectors(const TensorView& x, const TensorView& out, std::int64_t d, const Device& device,
                   const char* function, const char* x_name = "x");

// A gradient (d,) for the sliding window.
void check_gradient(const TensorView& g, std::int64_t d, const Device& device, const char* function);

}  // namespace mlprims::mfac::detail
