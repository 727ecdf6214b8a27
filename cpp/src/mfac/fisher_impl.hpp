// FisherInverse's state, shared by its methods and obs_prune.
#pragma once

#include <cstdint>
#include <memory>

#include "mfac/engines.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac {

// The engine behind FisherInverse: a CPU WoodburySolver or its CUDA counterpart.
struct FisherInverse::Impl {
  std::int64_t m = 0, d = 0, block_size = 0;
  double damp = 0.0;
  Device device;
  std::unique_ptr<detail::FisherEngine> engine;
};

}  // namespace mlprims::mfac
