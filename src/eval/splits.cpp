// Train/test splits of a rating matrix (declared in evaluation.hpp).
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>

#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "core/enum_names.hpp"

namespace cinefactor {
namespace {

constexpr EnumNames<SplitKind, 4> kSplitNames{"random", "per-user", "temporal", "temporal-global"};
constexpr int kMaxFolds = 255;  // fold numbers are stored in one byte per rating

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same stream on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n >= 1, without modulo bias (rejects the incomplete last block).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = -n % n;  // = 2^64 mod n
    std::uint64_t r = next();
    while (r < limit) r = next();
    return r % n;
  }
  // Uniform in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

// An independent stream per (seed, user id): a user's split does not depend on the other users.
SplitMix64 user_stream(std::uint64_t seed, std::int64_t user_id) {
  SplitMix64 mix(seed ^ (static_cast<std::uint64_t>(user_id) * 0xd1b54a32d192ed03ull));
  return SplitMix64(mix.next());
}

void check_fraction(double f) {
  if (!(f > 0.0 && f < 1.0))
    throw InvalidArgument("test fraction must be in (0, 1), got " + std::to_string(f));
}

void require_timestamps(const RatingMatrix& ratings, SplitKind kind) {
  if (ratings.timestamps().empty() && ratings.nnz() > 0) {
    throw InvalidArgument(std::string("a ") + std::string(split_kind_name(kind)) +
                          " split needs rating timestamps, and these ratings have none");
  }
}

// How many of a user's n ratings go to test (see SplitOptions).
std::int64_t user_test_count(std::int64_t n, double fraction, SplitMix64& rng) {
  if (n < 2) return 0;
  const auto count = static_cast<std::int64_t>(std::floor(fraction * static_cast<double>(n) + rng.unit()));
  return std::clamp<std::int64_t>(count, 0, n - 1);
}

std::vector<std::uint8_t> random_mask(const RatingMatrix& ratings, double fraction, std::uint64_t seed) {
  const auto nnz = ratings.nnz();
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(nnz), 0);
  // Selection sampling (Knuth's Algorithm S): exact count, one pass, no permutation array.
  auto needed = static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(nnz)));
  SplitMix64 rng(seed);
  for (std::int64_t p = 0; p < nnz && needed > 0; ++p) {
    if (static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(nnz - p))) < needed) {
      mask[static_cast<std::size_t>(p)] = 1;
      --needed;
    }
  }
  return mask;
}

std::vector<std::uint8_t> per_user_mask(const RatingMatrix& ratings, const SplitOptions& options) {
  const auto& csr = ratings.by_user();
  const auto ts = ratings.timestamps();
  const bool temporal = options.kind == SplitKind::temporal;
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(ratings.nnz()), 0);
#pragma omp parallel
  {
    std::vector<std::int64_t> order;
#pragma omp for schedule(dynamic, 256)
    for (std::int32_t u = 0; u < ratings.n_users(); ++u) {
      const auto begin = csr.row_begin(u);
      const auto n = csr.row_nnz(u);
      auto rng = user_stream(options.seed, ratings.user_ids()[static_cast<std::size_t>(u)]);
      const auto n_test = user_test_count(n, options.test_fraction, rng);
      if (n_test == 0) continue;
      order.resize(static_cast<std::size_t>(n));
      std::iota(order.begin(), order.end(), begin);
      if (temporal) {
        // Latest last; equal timestamps keep movie order (the CSR order), so the cut is deterministic.
        std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
          return ts[static_cast<std::size_t>(a)] < ts[static_cast<std::size_t>(b)];
        });
        for (auto i = n - n_test; i < n; ++i)
          mask[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
      } else {
        // Partial Fisher-Yates: the first n_test positions become a uniform random subset.
        for (std::int64_t i = 0; i < n_test; ++i) {
          const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)));
          std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
          mask[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
        }
      }
    }
  }
  return mask;
}

std::vector<std::uint8_t> temporal_global_mask(const RatingMatrix& ratings, double fraction) {
  const auto nnz = ratings.nnz();
  const auto ts = ratings.timestamps();
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(nnz), 0);
  const auto n_test = static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(nnz)));
  if (n_test == 0) return mask;
  // The cut timestamp: the n_test-th latest. Everything later is test; of the ratings exactly at the
  // cut, the last ones in (user, movie) order fill the remaining places.
  std::vector<std::uint32_t> sorted(ts.begin(), ts.end());
  const auto cut_pos = static_cast<std::size_t>(nnz - n_test);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(cut_pos), sorted.end());
  const auto cut = sorted[cut_pos];
  std::int64_t later = 0;
  for (const auto t : ts) later += t > cut ? 1 : 0;
  auto at_cut_to_take = n_test - later;
  for (std::int64_t p = nnz - 1; p >= 0; --p) {
    const auto t = ts[static_cast<std::size_t>(p)];
    if (t > cut) {
      mask[static_cast<std::size_t>(p)] = 1;
    } else if (t == cut && at_cut_to_take > 0) {
      mask[static_cast<std::size_t>(p)] = 1;
      --at_cut_to_take;
    }
  }
  return mask;
}

}  // namespace

CINEFACTOR_ENUM_NAME_FUNCTIONS(SplitKind, split_kind, kSplitNames)

TrainTestSplit split_by_mask(const RatingMatrix& ratings, std::span<const std::uint8_t> in_test) {
  const auto& csr = ratings.by_user();
  if (in_test.size() != static_cast<std::size_t>(ratings.nnz())) {
    throw InvalidArgument("split mask has " + std::to_string(in_test.size()) + " entries for " +
                          std::to_string(ratings.nnz()) + " ratings");
  }
  const auto n_users = ratings.n_users();
  const bool has_ts = !ratings.timestamps().empty();
  SparseMatrix parts[2];
  std::vector<std::uint32_t> part_ts[2];
  for (auto& m : parts) {
    m.rows = n_users;
    m.cols = ratings.n_movies();
    m.indptr.assign(static_cast<std::size_t>(n_users) + 1, 0);
  }
  for (std::int32_t u = 0; u < n_users; ++u) {
    std::int64_t test = 0;
    for (std::int64_t p = csr.row_begin(u); p < csr.row_end(u); ++p)
      test += in_test[static_cast<std::size_t>(p)] ? 1 : 0;
    const auto i = static_cast<std::size_t>(u);
    parts[0].indptr[i + 1] = parts[0].indptr[i] + csr.row_nnz(u) - test;
    parts[1].indptr[i + 1] = parts[1].indptr[i] + test;
  }
  for (int s = 0; s < 2; ++s) {
    const auto n = static_cast<std::size_t>(parts[s].indptr.back());
    parts[s].indices.resize(n);
    parts[s].values.resize(n);
    if (has_ts) part_ts[s].resize(n);
  }
#pragma omp parallel for schedule(dynamic, 256)
  for (std::int32_t u = 0; u < n_users; ++u) {
    std::int64_t next[2] = {parts[0].row_begin(u), parts[1].row_begin(u)};
    for (std::int64_t p = csr.row_begin(u); p < csr.row_end(u); ++p) {
      const auto src = static_cast<std::size_t>(p);
      const int s = in_test[src] ? 1 : 0;
      const auto dst = static_cast<std::size_t>(next[s]++);
      parts[s].indices[dst] = csr.indices[src];
      parts[s].values[dst] = csr.values[src];
      if (has_ts) part_ts[s][dst] = ratings.timestamps()[src];
    }
  }
  const std::vector<std::int64_t> user_ids(ratings.user_ids().begin(), ratings.user_ids().end());
  const std::vector<std::int64_t> movie_ids(ratings.movie_ids().begin(), ratings.movie_ids().end());
  return {RatingMatrix::from_csr(std::move(parts[0]), std::move(part_ts[0]), user_ids, movie_ids),
          RatingMatrix::from_csr(std::move(parts[1]), std::move(part_ts[1]), user_ids, movie_ids)};
}

TrainTestSplit holdout_split(const RatingMatrix& ratings, const SplitOptions& options) {
  check_fraction(options.test_fraction);
  switch (options.kind) {
    case SplitKind::random:
      return split_by_mask(ratings, random_mask(ratings, options.test_fraction, options.seed));
    case SplitKind::per_user:
      return split_by_mask(ratings, per_user_mask(ratings, options));
    case SplitKind::temporal:
      require_timestamps(ratings, options.kind);
      return split_by_mask(ratings, per_user_mask(ratings, options));
    case SplitKind::temporal_global:
      require_timestamps(ratings, options.kind);
      return split_by_mask(ratings, temporal_global_mask(ratings, options.test_fraction));
  }
  throw InvalidArgument("unknown split kind");
}

std::vector<std::uint8_t> kfold_assignment(const RatingMatrix& ratings, int folds, std::uint64_t seed) {
  const auto nnz = ratings.nnz();
  if (folds < 2 || folds > kMaxFolds) {
    throw InvalidArgument("k-fold needs 2 to " + std::to_string(kMaxFolds) + " folds, got " +
                          std::to_string(folds));
  }
  if (nnz < folds) {
    throw InvalidArgument("k-fold with " + std::to_string(folds) +
                          " folds needs at least as many ratings, got " + std::to_string(nnz));
  }
  // Sequential sampling without replacement: each rating takes fold f with probability
  // (places left in f) / (ratings left), which makes every balanced assignment equally likely.
  std::vector<std::int64_t> left(static_cast<std::size_t>(folds));
  for (int f = 0; f < folds; ++f) left[static_cast<std::size_t>(f)] = nnz / folds + (f < nnz % folds ? 1 : 0);
  std::vector<std::uint8_t> assignment(static_cast<std::size_t>(nnz));
  SplitMix64 rng(seed);
  for (std::int64_t p = 0; p < nnz; ++p) {
    auto r = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(nnz - p)));
    int f = 0;
    while (r >= left[static_cast<std::size_t>(f)]) r -= left[static_cast<std::size_t>(f++)];
    --left[static_cast<std::size_t>(f)];
    assignment[static_cast<std::size_t>(p)] = static_cast<std::uint8_t>(f);
  }
  return assignment;
}

TrainTestSplit kfold_split(const RatingMatrix& ratings, std::span<const std::uint8_t> assignment, int fold) {
  if (assignment.size() != static_cast<std::size_t>(ratings.nnz())) {
    throw InvalidArgument("fold assignment does not match the number of ratings");
  }
  if (fold < 0 || fold > kMaxFolds) throw InvalidArgument("fold index out of range: " + std::to_string(fold));
  std::vector<std::uint8_t> mask(assignment.size());
  const auto target = static_cast<std::uint8_t>(fold);
  std::transform(assignment.begin(), assignment.end(), mask.begin(),
                 [target](std::uint8_t f) { return static_cast<std::uint8_t>(f == target ? 1 : 0); });
  return split_by_mask(ratings, mask);
}

}  // namespace cinefactor
