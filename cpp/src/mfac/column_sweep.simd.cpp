// The column kernels of column_sweep.hpp, compiled once per instruction set (MLPRIMS_ISA names
// the namespace). Rows are taken four at a time: one load and store of the accumulator (combine)
// or of the source (project) serves four rows of G.
#include <algorithm>
#include <cstdint>

#include "mfac/column_sweep.hpp"

#ifndef MLPRIMS_ISA
#error "compile with -DMLPRIMS_ISA=<namespace>"
#endif

namespace mlprims::mfac::detail::MLPRIMS_ISA {
namespace {

constexpr int kGroup = 4;

// Row pointers of the group starting at `first`, offset to `begin`; missing rows repeat the last
// one (their coefficients are 0 / their sums are dropped).
template <class T>
int group_rows(const GradientRows& g, std::int64_t first, std::int64_t begin, const T* (&rows)[kGroup]) {
  const int count = static_cast<int>(std::min<std::int64_t>(kGroup, g.rows - first));
  for (int j = 0; j < kGroup; ++j) rows[j] = reinterpret_cast<const T*>(g.row(first + std::min(j, count - 1))) + begin;
  return count;
}

template <class T>
void combine_typed(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* coefficients, int nrhs,
                   double* acc) {
  const std::int64_t width = end - begin, m = g.rows;
  std::fill(acc, acc + nrhs * width, 0.0);
  for (std::int64_t first = 0; first < m; first += kGroup) {
    const T* rows[kGroup];
    const int count = group_rows(g, first, begin, rows);
    for (int r = 0; r < nrhs; ++r) {
      double c[kGroup];
      bool any = false;
      for (int j = 0; j < kGroup; ++j) {
        c[j] = j < count ? coefficients[r * m + first + j] : 0.0;
        any = any || c[j] != 0.0;
      }
      if (!any) continue;
      double* a = acc + r * width;
      const T *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
      const double c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
#pragma omp simd
      for (std::int64_t k = 0; k < width; ++k) {
        a[k] += c0 * widen(r0, k) + c1 * widen(r1, k) + c2 * widen(r2, k) + c3 * widen(r3, k);
      }
    }
  }
}

template <class T>
void project_typed(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* source,
                   std::int64_t source_ld, int nrhs, double* q) {
  const std::int64_t width = end - begin, m = g.rows;
  for (std::int64_t first = 0; first < m; first += kGroup) {
    const T* rows[kGroup];
    const int count = group_rows(g, first, begin, rows);
    const T *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
    for (int r = 0; r < nrhs; ++r) {
      const double* s = source + r * source_ld + begin;
      double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (std::int64_t k = 0; k < width; ++k) {
        const double value = s[k];
        s0 += widen(r0, k) * value;
        s1 += widen(r1, k) * value;
        s2 += widen(r2, k) * value;
        s3 += widen(r3, k) * value;
      }
      const double sums[kGroup] = {s0, s1, s2, s3};
      for (int j = 0; j < count; ++j) q[r * m + first + j] += sums[j];
    }
  }
}

template <class T>
bool widen_typed(const GradientRows& g, std::int64_t begin, std::int64_t end, double* out) {
  const std::int64_t width = end - begin;
  bool finite = true;
  for (std::int64_t i = 0; i < g.rows; ++i) {
    const T* row = reinterpret_cast<const T*>(g.row(i)) + begin;
    double* o = out + i * width;
    double check = 0.0;  // NaN or inf anywhere makes the sum of products with 0 NaN
#pragma omp simd reduction(+ : check)
    for (std::int64_t k = 0; k < width; ++k) {
      o[k] = widen(row, k);
      check += o[k] * 0.0;
    }
    finite = finite && check == 0.0;
  }
  return finite;
}

}  // namespace

void combine_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* coefficients, int nrhs,
                     double* acc) {
  with_storage_type(
      g.dtype, [&](auto tag) { combine_typed<typename decltype(tag)::type>(g, begin, end, coefficients, nrhs, acc); });
}

void project_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* source,
                     std::int64_t source_ld, int nrhs, double* q) {
  with_storage_type(g.dtype, [&](auto tag) {
    project_typed<typename decltype(tag)::type>(g, begin, end, source, source_ld, nrhs, q);
  });
}

bool widen_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, double* out) {
  return with_storage_type(g.dtype,
                           [&](auto tag) { return widen_typed<typename decltype(tag)::type>(g, begin, end, out); });
}

}  // namespace mlprims::mfac::detail::MLPRIMS_ISA
