#include "mfac/gradient_passes.hpp"

#include <algorithm>

namespace mlprims::mfac::detail {

VectorBuffer& VectorBuffer::operator=(VectorBuffer&& other) noexcept {
  if (this != &other) {
    if (home_ != nullptr && data_ != nullptr) home_->keep(*this);
    data_ = std::move(other.data_);
    count_ = other.count_;
    home_ = other.home_;
    other.home_ = nullptr;
  }
  return *this;
}

VectorBuffer::~VectorBuffer() {
  if (home_ != nullptr && data_ != nullptr) home_->keep(*this);
}

VectorBuffer GradientPasses::allocate(std::int64_t count) const {
  count = std::max<std::int64_t>(count, 1);
  VectorBuffer buffer;
  {
    const std::lock_guard<std::mutex> lock(cache_mutex_);
    // The smallest cached buffer that is large enough.
    const auto fits =
        std::find_if(cache_.begin(), cache_.end(), [count](const VectorBuffer& b) { return b.count_ >= count; });
    if (fits != cache_.end()) {
      buffer = std::move(*fits);
      cache_.erase(fits);
    }
  }
  if (buffer.data() == nullptr) buffer = allocate_memory(count);
  buffer.home_ = this;
  return buffer;
}

void GradientPasses::keep(VectorBuffer& buffer) const {
  VectorBuffer memory;  // freed on return unless cached
  memory.data_ = std::move(buffer.data_);
  memory.count_ = buffer.count_;
  const std::int64_t limit = 4 * std::max<std::int64_t>(g_.cols, 1);
  const std::lock_guard<std::mutex> lock(cache_mutex_);
  std::int64_t cached = memory.count_;
  for (const VectorBuffer& b : cache_) cached += b.count_;
  // Over the limit: drop the smallest buffers first (the new one included).
  cache_.insert(std::upper_bound(cache_.begin(), cache_.end(), memory.count_,
                                 [](std::int64_t count, const VectorBuffer& b) { return count < b.count_; }),
                std::move(memory));
  while (cached > limit && !cache_.empty()) {
    cached -= cache_.front().count_;
    cache_.erase(cache_.begin());
  }
}

}  // namespace mlprims::mfac::detail
