// The contract of linalg's DenseOps (cpp/src/linalg/dense_ops.hpp), checked operation by
// operation against plain loops in double, for any implementation: test_dense_ops.cpp runs
// it on the host implementation, test_cuda.cpp on the CUDA one (with a GPU). Data moves through
// the implementation's own upload/download, with leading dimensions larger than the row count.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "linalg/dense_ops.hpp"

namespace dense_ops_contract {

using mlprims::linalg::BackendArray;
using mlprims::linalg::DenseOps;

// A column-major rows x cols matrix with leading dimension ld, on the host.
template <class T>
struct HostMatrix {
  std::int64_t rows, cols, ld;
  std::vector<T> data;
  T& operator()(std::int64_t i, std::int64_t j) { return data[i + j * ld]; }
  T operator()(std::int64_t i, std::int64_t j) const { return data[i + j * ld]; }
};

template <class T>
HostMatrix<T> random_matrix(std::int64_t rows, std::int64_t cols, std::uint64_t seed, std::int64_t padding = 3) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> normal;
  HostMatrix<T> a{rows, cols, rows + padding, std::vector<T>(static_cast<std::size_t>((rows + padding) * cols))};
  for (T& value : a.data) value = static_cast<T>(normal(generator));
  return a;
}

template <class T>
double tolerance() {
  return 200 * std::numeric_limits<T>::epsilon();
}

template <class T>
BackendArray<T> upload(const DenseOps<T>& ops, const HostMatrix<T>& a) {
  return ops.upload_vector(a.data);
}

template <class T>
HostMatrix<T> download(const DenseOps<T>& ops, const BackendArray<T>& from, std::int64_t rows, std::int64_t cols,
                       std::int64_t ld) {
  return {rows, cols, ld, ops.download_vector(from.data(), ld * cols)};
}

// max |a^T b - expected| over a's and b's columns (a, b with the same row count).
template <class T>
double column_products_error(const HostMatrix<T>& a, const HostMatrix<T>& b, bool identity) {
  double worst = 0.0;
  for (std::int64_t i = 0; i < a.cols; ++i) {
    for (std::int64_t j = 0; j < b.cols; ++j) {
      double sum = 0.0;
      for (std::int64_t k = 0; k < a.rows; ++k) sum += double(a(k, i)) * double(b(k, j));
      worst = std::max(worst, std::fabs(sum - (identity && i == j ? 1.0 : 0.0)));
    }
  }
  return worst;
}

template <class T>
void check_gemm(const DenseOps<T>& ops) {
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      const std::int64_t m = 7, n = 5, k = 6;
      const HostMatrix<T> a = ta ? random_matrix<T>(k, m, 1) : random_matrix<T>(m, k, 1);
      const HostMatrix<T> b = tb ? random_matrix<T>(n, k, 2) : random_matrix<T>(k, n, 2);
      const HostMatrix<T> c = random_matrix<T>(m, n, 3);
      const BackendArray<T> da = upload(ops, a), db = upload(ops, b), dc = upload(ops, c);
      ops.gemm(ta, tb, m, n, k, T(2), da.data(), a.ld, db.data(), b.ld, T(0.5), dc.data(), c.ld);
      const HostMatrix<T> out = download(ops, dc, m, n, c.ld);
      for (std::int64_t i = 0; i < m; ++i) {
        for (std::int64_t j = 0; j < n; ++j) {
          double sum = 0.0;
          for (std::int64_t l = 0; l < k; ++l) sum += double(ta ? a(l, i) : a(i, l)) * double(tb ? b(j, l) : b(l, j));
          EXPECT_NEAR(out(i, j), 2 * sum + 0.5 * double(c(i, j)), tolerance<T>() * 10) << ta << tb;
        }
      }
    }
  }
}

template <class T>
void check_transpose_and_scale(const DenseOps<T>& ops) {
  const HostMatrix<T> a = random_matrix<T>(6, 4, 4);
  const BackendArray<T> da = upload(ops, a);
  BackendArray<T> dt = ops.template allocate<T>(5 * 6);
  ops.transpose(6, 4, da.data(), a.ld, dt.data(), 5);
  const HostMatrix<T> t = download(ops, dt, 4, 6, 5);
  for (std::int64_t i = 0; i < 6; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) EXPECT_EQ(t(j, i), a(i, j));
  }
  const std::vector<T> rows = {1, 2, 3, 4, 5, 6}, cols = {-1, 0.5, 2, 10};
  const BackendArray<T> drows = ops.upload_vector(rows), dcols = ops.upload_vector(cols);
  ops.scale(6, 4, da.data(), a.ld, drows.data(), dcols.data());
  ops.scale(6, 4, da.data(), a.ld, nullptr, dcols.data());  // one side only
  ops.scale(6, 4, da.data(), a.ld, nullptr, nullptr);       // no-op
  const HostMatrix<T> scaled = download(ops, da, 6, 4, a.ld);
  for (std::int64_t i = 0; i < 6; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) {
      EXPECT_NEAR(scaled(i, j), double(a(i, j)) * rows[i] * cols[j] * cols[j], tolerance<T>() * 200);
    }
  }
}

template <class T>
void check_orthonormalize(const DenseOps<T>& ops) {
  const HostMatrix<T> a = random_matrix<T>(40, 9, 5);
  BackendArray<T> dq = upload(ops, a);
  ops.orthonormalize(40, 9, dq.data(), a.ld);
  const HostMatrix<T> q = download(ops, dq, 40, 9, a.ld);
  EXPECT_LE(column_products_error(q, q, true), tolerance<T>());
  for (std::int64_t j = 0; j < 9; ++j) {
    double alignment = 0.0;  // q_j^T a_j = R_jj >= 0
    for (std::int64_t i = 0; i < 40; ++i) alignment += double(q(i, j)) * double(a(i, j));
    EXPECT_GT(alignment, 0.0) << j;
    // a_j lies in span(q_0..q_j): its residual after projecting on them vanishes.
    std::vector<double> residual(40);
    for (std::int64_t i = 0; i < 40; ++i) residual[i] = a(i, j);
    for (std::int64_t c = 0; c <= j; ++c) {
      double dot = 0.0;
      for (std::int64_t i = 0; i < 40; ++i) dot += double(q(i, c)) * double(a(i, j));
      for (std::int64_t i = 0; i < 40; ++i) residual[i] -= dot * double(q(i, c));
    }
    for (double value : residual) EXPECT_NEAR(value, 0.0, tolerance<T>() * 10);
  }
  // The padding rows between columns are not touched.
  for (std::int64_t j = 0; j < 9; ++j) {
    for (std::int64_t i = 40; i < a.ld; ++i) EXPECT_EQ(q.data[i + j * a.ld], a.data[i + j * a.ld]);
  }
}

template <class T>
void check_gram_and_eigen(const DenseOps<T>& ops) {
  const HostMatrix<T> a = random_matrix<T>(30, 6, 6);
  const BackendArray<T> da = upload(ops, a);
  BackendArray<double> dg = ops.template allocate<double>(36);
  ops.gram(30, 6, da.data(), a.ld, dg.data());
  const std::vector<double> g = ops.download_vector(dg.data(), 36);
  std::vector<double> exact(36);
  for (std::int64_t i = 0; i < 6; ++i) {
    for (std::int64_t j = 0; j <= i; ++j) {
      double sum = 0.0;
      for (std::int64_t k = 0; k < 30; ++k) sum += double(a(k, i)) * double(a(k, j));
      exact[i + j * 6] = exact[j + i * 6] = sum;
      EXPECT_NEAR(g[i + j * 6], sum, 1e-12 * 30) << "lower triangle " << i << "," << j;
    }
  }
  std::vector<double> eigenvalues;
  ASSERT_TRUE(ops.symmetric_eigen(6, dg.data(), eigenvalues));
  const std::vector<double> vectors = ops.download_vector(dg.data(), 36);
  ASSERT_EQ(eigenvalues.size(), 6u);
  for (std::int64_t c = 0; c < 6; ++c) {
    if (c > 0) EXPECT_LE(eigenvalues[c - 1], eigenvalues[c]);  // ascending
    for (std::int64_t i = 0; i < 6; ++i) {
      double product = 0.0;
      for (std::int64_t k = 0; k < 6; ++k) product += exact[i + k * 6] * vectors[k + c * 6];
      EXPECT_NEAR(product, eigenvalues[c] * vectors[i + c * 6], 1e-10 * eigenvalues[5]);
    }
  }
}

template <class T>
void check_svd(const DenseOps<T>& ops) {
  const std::int64_t m = 25, n = 8;
  const HostMatrix<T> a = random_matrix<T>(m, n, 7);
  BackendArray<T> work = upload(ops, a);
  BackendArray<T> du = ops.template allocate<T>(m * n), dvt = ops.template allocate<T>(n * n);
  std::vector<T> s;
  ASSERT_TRUE(ops.svd(m, n, work.data(), a.ld, s, du.data(), dvt.data()));
  ASSERT_EQ(s.size(), static_cast<std::size_t>(n));
  const HostMatrix<T> u = download(ops, du, m, n, m), vt = download(ops, dvt, n, n, n);
  EXPECT_LE(column_products_error(u, u, true), tolerance<T>());
  for (std::int64_t c = 1; c < n; ++c) EXPECT_LE(s[c], s[c - 1]);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (std::int64_t k = 0; k < n; ++k) sum += double(u(i, k)) * double(s[k]) * double(vt(k, j));
      EXPECT_NEAR(sum, a(i, j), tolerance<T>() * 10);
    }
  }
}

template <class T>
void check_cholesky_and_solves(const DenseOps<T>& ops) {
  const std::int64_t n = 5;
  const HostMatrix<double> b = random_matrix<double>(n, n, 8, 0);
  std::vector<double> spd(n * n, 0.0);  // B B^T + I
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      for (std::int64_t k = 0; k < n; ++k) spd[i + j * n] += b(i, k) * b(j, k);
      if (i == j) spd[i + j * n] += 1.0;
    }
  }
  BackendArray<double> dl = ops.upload_vector(spd);
  ASSERT_TRUE(ops.cholesky(n, dl.data()));
  std::vector<double> l = ops.download_vector(dl.data(), n * n);
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < j; ++i) EXPECT_EQ(l[i + j * n], spd[i + j * n]);  // upper part kept
    for (std::int64_t i = 0; i < j; ++i) l[i + j * n] = 0.0;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (std::int64_t k = 0; k < n; ++k) sum += l[i + k * n] * l[j + k * n];
      EXPECT_NEAR(sum, spd[i + j * n], 1e-12 * 10);
    }
  }
  std::vector<double> indefinite = spd;
  indefinite[0] = -1.0;
  BackendArray<double> di = ops.upload_vector(indefinite);
  EXPECT_FALSE(ops.cholesky(n, di.data()));

  // x <- L^{-1} x and L^{-T} x with the factor in T, an upper part that must not be read (NaN), ld n + 1.
  HostMatrix<T> factor{n, n, n + 1,
                       std::vector<T>(static_cast<std::size_t>((n + 1) * n), std::numeric_limits<T>::quiet_NaN())};
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = j; i < n; ++i) factor(i, j) = static_cast<T>(l[i + j * n]);
  }
  const BackendArray<T> dfactor = upload(ops, factor);
  for (const bool transposed : {false, true}) {
    const HostMatrix<T> x = random_matrix<T>(n, 3, 9);
    BackendArray<T> dx = upload(ops, x);
    ops.solve_lower(transposed, n, 3, dfactor.data(), factor.ld, dx.data(), x.ld);
    const HostMatrix<T> z = download(ops, dx, n, 3, x.ld);
    for (std::int64_t c = 0; c < 3; ++c) {
      for (std::int64_t i = 0; i < n; ++i) {  // (L z)_i or (L^T z)_i = x_i
        double sum = 0.0;
        for (std::int64_t k = 0; k < n; ++k) {
          const double entry = transposed ? (k >= i ? l[k + i * n] : 0.0) : (k <= i ? l[i + k * n] : 0.0);
          sum += entry * double(z(k, c));
        }
        EXPECT_NEAR(sum, x(i, c), tolerance<T>() * 100) << transposed;
      }
    }
  }
}

template <class T>
void check_norms_and_conversions(const DenseOps<T>& ops) {
  HostMatrix<T> a = random_matrix<T>(50, 3, 10);
  double exact = 0.0;
  for (std::int64_t j = 0; j < 3; ++j) {
    for (std::int64_t i = 0; i < 50; ++i) exact += double(a(i, j)) * double(a(i, j));
    a.data[50 + j * a.ld] = std::numeric_limits<T>::quiet_NaN();  // padding: must not be read
  }
  BackendArray<T> da = upload(ops, a);
  bool finite = false;
  EXPECT_NEAR(ops.frobenius_norm(50, 3, da.data(), a.ld, finite), std::sqrt(exact), 1e-12 * std::sqrt(exact));
  EXPECT_TRUE(finite);
  if constexpr (std::is_same_v<T, double>) {
    // Squares of 1e200 overflow and those of 1e-200 underflow; the norm itself is representable.
    for (const double factor : {1e200, 1e-200}) {
      HostMatrix<T> scaled = a;
      for (std::int64_t j = 0; j < 3; ++j) {
        for (std::int64_t i = 0; i < 50; ++i) scaled(i, j) *= factor;
      }
      da = upload(ops, scaled);
      EXPECT_NEAR(ops.frobenius_norm(50, 3, da.data(), a.ld, finite) / factor, std::sqrt(exact),
                  1e-12 * std::sqrt(exact));
      EXPECT_TRUE(finite);
    }
  }
  a(7, 1) = std::numeric_limits<T>::infinity();
  da = upload(ops, a);
  ops.frobenius_norm(50, 3, da.data(), a.ld, finite);
  EXPECT_FALSE(finite);

  const std::vector<double> wide = {1.0, -2.5, 1e-3, 3.0 + 1e-12};
  BackendArray<double> dwide = ops.upload_vector(wide);
  BackendArray<T> dnarrow = ops.template allocate<T>(4);
  ops.narrow(4, dwide.data(), dnarrow.data());
  const std::vector<T> narrow = ops.download_vector(dnarrow.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(narrow[i], static_cast<T>(wide[i]));
}

template <class T>
void check_all(const DenseOps<T>& ops) {
  check_gemm(ops);
  check_transpose_and_scale(ops);
  check_orthonormalize(ops);
  check_gram_and_eigen(ops);
  check_svd(ops);
  check_cholesky_and_solves(ops);
  check_norms_and_conversions(ops);
}

}  // namespace dense_ops_contract
