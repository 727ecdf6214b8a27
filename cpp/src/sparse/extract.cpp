// Extraction: the passes of each selection rule over (base, tuned), then the fill pass.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/checks.hpp"
#include "core/exact_select.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/delta_source.hpp"
#include "sparse/keep_passes.hpp"
#include "sparse/row_select.hpp"
#include "sparse/rows.hpp"

namespace mlprims::sparse {

using detail::ArgRef;
using detail::DeltaSource;

struct Extraction::State {
  TensorView base, tuned;
  SelectRule rule;
  DType value_dtype = DType::kFloat32;
  detail::RowLayout rows;
  std::int64_t row_first = 0, row_count = 0;  // the rank range kept in each row (row rules)
  mlprims::detail::ChunkedSelection table;    // tensor rules: per-chunk counts (and the threshold)
  std::int64_t nnz = 0;

  bool by_row() const {
    return rule.select == Select::kBreadcrumbs || (rule.select == Select::kMagnitude && rule.scope == Scope::kRow);
  }
};

namespace {

constexpr const char* kFunction = "sparse.extract";

[[noreturn]] void throw_nan(std::int64_t count) {
  throw ValueError(std::string(kFunction) + ": 'tuned' - 'base' has " + (count > 0 ? std::to_string(count) + " " : "") +
                   "NaN entries, which a magnitude selection cannot rank (select='magnitude' and 'breadcrumbs' "
                   "refuse them; atol=0 keeps them as changed)");
}

void check_rule(const SelectRule& rule, std::int64_t numel, std::int64_t row_length) {
  const bool rows = rule.scope == Scope::kRow;
  switch (rule.select) {
    case Select::kChanged:
      if (!(rule.atol >= 0.0) || std::isinf(rule.atol)) {
        throw ValueError(std::string(kFunction) + ": 'atol' must be finite and >= 0, got " +
                         mlprims::detail::format_double(rule.atol));
      }
      break;
    case Select::kMagnitude: {
      const std::int64_t limit = rows ? row_length : numel;
      if (rule.k < 0 || rule.k > limit) {
        throw ValueError(std::string(kFunction) + ": 'k' must be in [0, " + std::to_string(limit) + "] (the " +
                         (rows ? "row length" : "number of elements") + "), got " + std::to_string(rule.k));
      }
      break;
    }
    case Select::kRandom:
      if (!(rule.density > 0.0 && rule.density <= 1.0)) {
        throw ValueError(std::string(kFunction) + ": 'density' must be in (0, 1], got " +
                         mlprims::detail::format_double(rule.density));
      }
      break;
    case Select::kBreadcrumbs:
      for (auto [name, value] : {std::pair{"drop_top", rule.drop_top}, std::pair{"keep", rule.keep}}) {
        if (!(value >= 0.0 && value <= 1.0)) {
          throw ValueError(std::string(kFunction) + ": '" + name + "' must be in [0, 1], got " +
                           mlprims::detail::format_double(value));
        }
      }
      break;
  }
}

// The vectorized passes of the tensor rules, for what `s` selects (the tie count of a chunk is
// filled in per chunk).
detail::ChunkRule chunk_rule(const Extraction::State& s) {
  detail::ChunkRule rule;
  switch (s.rule.select) {
    case Select::kChanged:
      rule.kind = detail::ChunkRule::Kind::kChanged;
      rule.atol = s.rule.atol;
      break;
    case Select::kRandom:
      rule.kind = detail::ChunkRule::Kind::kRandom;
      rule.seed = s.rule.seed;
      rule.density = s.rule.density;
      rule.value_scale = 1.0 / s.rule.density;
      break;
    default:
      rule.kind = detail::ChunkRule::Kind::kMagnitude;
      rule.threshold = s.table.threshold;
  }
  return rule;
}

const detail::KeepKernels& kernels_of(const Extraction::State& s) {
  return detail::keep_kernels(s.base.dtype(), s.value_dtype, true);
}

template <class T, class V>
void plan(Extraction::State& s) {
  const DeltaSource<T, V> delta{s.base.data_as<const T>(), s.tuned.data_as<const T>()};
  const std::int64_t n = s.rows.numel;
  if (s.by_row()) {
    s.nnz = s.rows.count * s.row_count;
    return;
  }
  const detail::KeepKernels& kernels = kernels_of(s);
  const void* base = s.base.data();
  const void* tuned = s.tuned.data();
  if (s.rule.select == Select::kMagnitude) {
    s.table =
        detail::select_largest_keys(kernels, base, tuned, n, s.rule.k, 8 * static_cast<int>(sizeof(V)),
                                    mlprims::detail::infinity_key<V>(), [&](std::int64_t i) { return delta.key(i); });
    if (s.table.invalid > 0) throw_nan(s.table.invalid);
    s.nnz = s.rule.k;
    return;
  }
  // kChanged, kRandom: count per chunk.
  const detail::ChunkRule rule = chunk_rule(s);
  s.table.selected_before = mlprims::detail::count_per_chunk(
      n, [&](std::int64_t begin, std::int64_t end) { return kernels.count_kept(base, tuned, begin, end, rule); });
  s.table.ties_before.assign(s.table.selected_before.size(), 0);
  s.nnz = s.table.selected_before.back();
}

// Row rules: every row keeps row_count entries, written at row * row_count.
template <class T, class V, class I>
void fill_rows(const Extraction::State& s, I* indices, V* values) {
  const DeltaSource<T, V> delta{s.base.data_as<const T>(), s.tuned.data_as<const T>()};
  const std::int64_t m = s.rows.length;
  bool ranked = true;
  mlprims::detail::for_rows(s.rows.count, m, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::pair<std::uint64_t, std::int64_t>> scratch;
    for (std::int64_t r = begin; r < end; ++r) {
      I* positions = indices + r * s.row_count;
      const std::int64_t offset = r * m;
      if (!detail::select_row_ranks(
              m, s.row_first, s.row_count, mlprims::detail::infinity_key<V>(),
              [&](std::int64_t j) { return delta.key(offset + j); }, scratch, positions)) {
#pragma omp atomic write
        ranked = false;
        return;
      }
      for (std::int64_t j = 0; j < s.row_count; ++j) {
        positions[j] = static_cast<I>(positions[j] + offset);
        values[r * s.row_count + j] = delta.value(static_cast<std::int64_t>(positions[j]));
      }
    }
  });
  if (!ranked) throw_nan(0);
}

// Tensor rules: one pass (keep_kernels.hpp's write_kept_chunks).
template <class V, class PutWords>
void fill_tensor(const Extraction::State& s, V* values, const PutWords& put_words) {
  detail::write_kept_chunks(kFunction, kernels_of(s), s.base.data(), s.tuned.data(), s.rows.numel, s.table,
                            chunk_rule(s), values, sizeof(V), put_words);
}

}  // namespace

Extraction::Extraction(const TensorView& base, const TensorView& tuned, const SelectRule& rule, DType value_dtype)
    : state_(new State) {
  try {
    detail::require_weights(base, {kFunction, "base"});
    detail::require_weights(tuned, {kFunction, "tuned"});
    detail::require_same_layout(tuned, base, {kFunction, "tuned"}, {kFunction, "base"});
    detail::require_value_dtype(value_dtype, {kFunction, "value_dtype"});
    state_->base = base;
    state_->tuned = tuned;
    state_->rule = rule;
    state_->value_dtype = value_dtype;
    state_->rows = detail::RowLayout::of(base);
    check_rule(rule, state_->rows.numel, state_->rows.length);
    if (rule.select == Select::kBreadcrumbs) {
      const std::int64_t m = state_->rows.length;
      state_->row_first =
          std::min<std::int64_t>(m, static_cast<std::int64_t>(std::floor(rule.drop_top * static_cast<double>(m))));
      state_->row_count = std::min<std::int64_t>(
          m - state_->row_first, static_cast<std::int64_t>(std::floor(rule.keep * static_cast<double>(m))));
    } else if (rule.select == Select::kMagnitude && rule.scope == Scope::kRow) {
      state_->row_count = rule.k;
    }
    mlprims::detail::visit_float_type(base.dtype(), [&](auto t) {
      mlprims::detail::visit_float_type(value_dtype, [&](auto v) { plan<decltype(t), decltype(v)>(*state_); });
    });
  } catch (...) {
    delete state_;
    throw;
  }
}

Extraction::~Extraction() { delete state_; }
Extraction::Extraction(Extraction&& other) noexcept : state_(other.state_) { other.state_ = nullptr; }
Extraction& Extraction::operator=(Extraction&& other) noexcept {
  std::swap(state_, other.state_);
  return *this;
}

std::int64_t Extraction::nnz() const { return state_->nnz; }

namespace {

void check_values(const Extraction::State& s, const TensorView& values) {
  detail::require_vector(values, s.nnz, {kFunction, "values"});
  if (values.dtype() != s.value_dtype) {
    throw TypeError(std::string(kFunction) + ": 'values' must have dtype " + dtype_name(s.value_dtype) + ", got " +
                    dtype_name(values.dtype()));
  }
  mlprims::detail::require_writable(values, {kFunction, "values"});
}

}  // namespace

void Extraction::write(const TensorView& indices, const TensorView& values) const {
  detail::require_vector(indices, state_->nnz, {kFunction, "indices"});
  detail::require_index_dtype(indices, {kFunction, "indices"});
  detail::require_index_range(indices, state_->rows.numel, {kFunction, "indices"});
  mlprims::detail::require_writable(indices, {kFunction, "indices"});
  check_values(*state_, values);
  mlprims::detail::visit_float_type(state_->base.dtype(), [&](auto t) {
    mlprims::detail::visit_float_type(state_->value_dtype, [&](auto v) {
      using T = decltype(t);
      using V = decltype(v);
      mlprims::detail::visit_index_type(indices.dtype(), [&](auto i) {
        using I = decltype(i);
        if (state_->by_row()) {
          fill_rows<T, V, I>(*state_, indices.data_as<I>(), values.data_as<V>());
        } else {
          I* out = indices.data_as<I>();
          fill_tensor(*state_, values.data_as<V>(),
                      [out](std::int64_t begin, std::int64_t end, const std::uint64_t* words, std::int64_t slot) {
                        detail::write_positions(begin, end, words, slot, out);
                      });
        }
      });
    });
  });
}

void Extraction::write_bitmask(const TensorView& bitmask, const TensorView& values) const {
  const std::int64_t n = state_->rows.numel;
  mlprims::detail::require_dtype(bitmask, DType::kUInt8, {kFunction, "bitmask"});
  detail::require_vector(bitmask, (n + 7) / 8, {kFunction, "bitmask"});
  mlprims::detail::require_writable(bitmask, {kFunction, "bitmask"});
  check_values(*state_, values);
  auto* mask = bitmask.data_as<std::uint8_t>();
  mlprims::detail::visit_float_type(state_->base.dtype(), [&](auto t) {
    mlprims::detail::visit_float_type(state_->value_dtype, [&](auto v) {
      using T = decltype(t);
      using V = decltype(v);
      if (state_->by_row()) {  // rows do not align with bytes: list the positions, then set the bits
        std::vector<std::int64_t> positions(static_cast<std::size_t>(state_->nnz));
        fill_rows<T, V, std::int64_t>(*state_, positions.data(), values.data_as<V>());
        std::fill(mask, mask + (n + 7) / 8, std::uint8_t{0});
        for (std::int64_t p : positions) mask[p >> 3] |= static_cast<std::uint8_t>(1u << (p & 7));
      } else {
        // Bit j of a word is position 64w + j: little-endian, its bytes are the mask's bytes.
        static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the bitmask is the words' bytes");
        fill_tensor(*state_, values.data_as<V>(),
                    [mask](std::int64_t begin, std::int64_t end, const std::uint64_t* words, std::int64_t) {
                      std::memcpy(mask + begin / 8, words, static_cast<std::size_t>((end - begin + 7) / 8));
                    });
      }
    });
  });
}

}  // namespace mlprims::sparse
