// Reproducible Gaussian test data for the C++ tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace mlprims_test {

// `count` standard normal values from `seed`, as T.
template <class T>
std::vector<T> gaussian(std::int64_t count, unsigned seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<double> normal;
  std::vector<T> values(static_cast<std::size_t>(count));
  for (T& value : values) value = static_cast<T>(normal(generator));
  return values;
}

}  // namespace mlprims_test
