// The CPU and CUDA implementations behind mlprims/vmf.hpp; arguments arrive validated.
#pragma once

#include <cstdint>
#include <vector>

#include "mlprims/core/tensor.hpp"

namespace mlprims::vmf::detail {

enum class NormalizerFunction { kLogNormalizer, kMeanResultantLength };

// The row of X whose squared norm is farthest from 1.
struct WorstRow {
  std::int64_t index = -1;
  double squared_norm = 1.0;
};

struct WeightedSum {
  std::vector<double> sum;  // sum_i w_i X[i, :], length p
  double total_weight = 0.0;
  WorstRow worst_row;
  std::int64_t bad_weight_index = -1;  // first negative or non-finite weight, -1 if none
};

void normalizer_cpu(NormalizerFunction function, const TensorView& kappa, double p, const TensorView& out);
// out[i] = log_c + kappa * direction.X[i]; returns the row farthest from unit norm.
WorstRow log_prob_cpu(const TensorView& X, const std::vector<double>& direction, double kappa, double log_c,
                      const TensorView& out);
WeightedSum weighted_sum_cpu(const TensorView& X, const TensorView* weights);

void normalizer_cuda(NormalizerFunction function, const TensorView& kappa, double p, const TensorView& out);
WorstRow log_prob_cuda(const TensorView& X, const std::vector<double>& direction, double kappa, double log_c,
                       const TensorView& out);
WeightedSum weighted_sum_cuda(const TensorView& X, const TensorView* weights);

}  // namespace mlprims::vmf::detail
