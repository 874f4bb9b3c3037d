// Train/test splits of a rating matrix (declared in evaluation.hpp).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <numeric>
#include <string>

#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "core/enum_names.hpp"
#include "eval/split_masks.hpp"

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

void require_timestamps(const RatingMatrix& local, const eval::RowPlacement& placement, SplitKind kind,
                        eval::ProcessGroup& group) {
  // Timestamps are all or none in a dataset: any process with ratings but none speaks for all.
  std::int64_t without[1] = {local.timestamps().empty() && local.nnz() > 0 ? 1 : 0};
  group.sum(without);
  if (without[0] > 0 && placement.total_ratings > 0) {
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

// Calls decide(p) for every position p of the whole matrix in order (the sampling stream advances over
// every rating, local or not) and keeps the results at the local positions.
template <class Decide>
std::vector<std::uint8_t> replay(const RatingMatrix& local, const eval::RowPlacement& placement,
                                 Decide decide) {
  struct Segment {
    std::int64_t first;  // position in the whole matrix
    std::int64_t local;  // position in the local ratings
    std::int64_t count;
  };
  const auto& csr = local.by_user();
  if (placement.first_position.size() != static_cast<std::size_t>(local.n_users()))
    throw InvalidArgument("the row placement does not match the local ratings");
  std::vector<Segment> segments;
  for (std::int32_t u = 0; u < local.n_users(); ++u) {
    const Segment s{placement.first_position[static_cast<std::size_t>(u)], csr.row_begin(u), csr.row_nnz(u)};
    if (s.count == 0) continue;
    if (s.first < 0 || s.first + s.count > placement.total_ratings)
      throw InvalidArgument("the row placement lies outside the whole matrix");
    segments.push_back(s);
  }
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.first < b.first; });
  std::vector<std::uint8_t> out(static_cast<std::size_t>(local.nnz()), 0);
  std::size_t s = 0;
  for (std::int64_t p = 0; p < placement.total_ratings; ++p) {
    const std::uint8_t value = decide(p);
    while (s < segments.size() && p >= segments[s].first + segments[s].count) ++s;
    if (s < segments.size() && p >= segments[s].first)
      out[static_cast<std::size_t>(segments[s].local + p - segments[s].first)] = value;
  }
  return out;
}

std::vector<std::uint8_t> random_mask(const RatingMatrix& local, const eval::RowPlacement& placement,
                                      double fraction, std::uint64_t seed) {
  const auto nnz = placement.total_ratings;
  // Selection sampling (Knuth's Algorithm S): exact count, one pass, no permutation array.
  auto needed = static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(nnz)));
  SplitMix64 rng(seed);
  return replay(local, placement, [&](std::int64_t p) -> std::uint8_t {
    if (needed == 0) return 0;
    if (static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(nnz - p))) >= needed) return 0;
    --needed;
    return 1;
  });
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

// The key of ascending rank `rank` (0-based, below the number of keys) among the keys of every process
// (each < 2^bits), by a radix selection 16 bits at a time: one pass over the local keys and one summed
// histogram per digit. for_each_key(visit) calls visit(key) for every local key.
template <class ForEachKey>
std::uint64_t select_by_rank(ForEachKey for_each_key, int bits, std::int64_t rank,
                             eval::ProcessGroup& group) {
  constexpr int kDigitBits = 16;
  constexpr std::uint64_t kDigitMask = (1u << kDigitBits) - 1;
  const int digits = std::max(1, (bits + kDigitBits - 1) / kDigitBits);
  std::vector<std::int64_t> histogram(kDigitMask + 1);
  std::uint64_t prefix = 0;  // the digits chosen so far
  for (int d = digits - 1; d >= 0; --d) {
    const int shift = d * kDigitBits;
    const bool top = d + 1 == digits;
    std::fill(histogram.begin(), histogram.end(), 0);
    for_each_key([&](std::uint64_t key) {
      if (top || (key >> (shift + kDigitBits)) == prefix) ++histogram[(key >> shift) & kDigitMask];
    });
    group.sum(histogram);
    std::size_t digit = 0;
    while (digit + 1 < histogram.size() && rank >= histogram[digit]) rank -= histogram[digit++];
    prefix = (prefix << kDigitBits) | digit;
  }
  return prefix;
}

int bit_width_of(std::int64_t n) {
  return static_cast<int>(std::bit_width(static_cast<std::uint64_t>(std::max<std::int64_t>(n, 1))));
}

std::vector<std::uint8_t> temporal_global_mask(const RatingMatrix& local, const eval::RowPlacement& placement,
                                               double fraction, eval::ProcessGroup& group) {
  const auto nnz = placement.total_ratings;
  const auto ts = local.timestamps();
  const auto& csr = local.by_user();
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(local.nnz()), 0);
  const auto n_test = static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(nnz)));
  if (n_test == 0) return mask;
  // The cut timestamp: the n_test-th latest. Everything later is test; of the ratings exactly at the
  // cut, the last ones in (user, movie) order fill the remaining places.
  const auto cut = static_cast<std::uint32_t>(select_by_rank(
      [&](const auto& visit) {
        for (const auto t : ts) visit(t);
      },
      32, nnz - n_test, group));
  std::int64_t counts[2] = {0, 0};  // later than the cut, at the cut
  for (const auto t : ts) {
    counts[0] += t > cut ? 1 : 0;
    counts[1] += t == cut ? 1 : 0;
  }
  group.sum(counts);
  const auto at_cut_to_take = n_test - counts[0];
  // Calls visit(position in the whole matrix, local position) for every local rating at the cut.
  const auto for_each_at_cut = [&](const auto& visit) {
    for (std::int32_t u = 0; u < local.n_users(); ++u) {
      for (std::int64_t p = csr.row_begin(u); p < csr.row_end(u); ++p) {
        if (ts[static_cast<std::size_t>(p)] == cut)
          visit(placement.first_position[static_cast<std::size_t>(u)] + p - csr.row_begin(u), p);
      }
    }
  };
  // The ratings at the cut from this position of the whole matrix on are the last at_cut_to_take.
  const auto first_taken = static_cast<std::int64_t>(select_by_rank(
      [&](const auto& visit) { for_each_at_cut([&](std::int64_t global, std::int64_t) { visit(global); }); },
      bit_width_of(nnz), counts[1] - at_cut_to_take, group));
  for (std::size_t p = 0; p < ts.size(); ++p) mask[p] = ts[p] > cut ? 1 : 0;
  for_each_at_cut([&](std::int64_t global, std::int64_t p) {
    if (global >= first_taken) mask[static_cast<std::size_t>(p)] = 1;
  });
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

namespace eval {

RowPlacement whole_matrix_placement(const RatingMatrix& ratings) {
  RowPlacement placement{ratings.nnz(), {}};
  placement.first_position.reserve(static_cast<std::size_t>(ratings.n_users()));
  for (std::int32_t u = 0; u < ratings.n_users(); ++u)
    placement.first_position.push_back(ratings.by_user().row_begin(u));
  return placement;
}

std::vector<std::uint8_t> holdout_mask(const RatingMatrix& local, const RowPlacement& placement,
                                       const SplitOptions& options, ProcessGroup& group) {
  check_fraction(options.test_fraction);
  switch (options.kind) {
    case SplitKind::random:
      return random_mask(local, placement, options.test_fraction, options.seed);
    case SplitKind::per_user:
      return per_user_mask(local, options);
    case SplitKind::temporal:
      require_timestamps(local, placement, options.kind, group);
      return per_user_mask(local, options);
    case SplitKind::temporal_global:
      require_timestamps(local, placement, options.kind, group);
      return temporal_global_mask(local, placement, options.test_fraction, group);
  }
  throw InvalidArgument("unknown split kind");
}

std::vector<std::uint8_t> kfold_mask(const RatingMatrix& local, const RowPlacement& placement, int folds,
                                     std::uint64_t seed) {
  const auto nnz = placement.total_ratings;
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
  SplitMix64 rng(seed);
  return replay(local, placement, [&](std::int64_t p) -> std::uint8_t {
    auto r = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(nnz - p)));
    int f = 0;
    while (r >= left[static_cast<std::size_t>(f)]) r -= left[static_cast<std::size_t>(f++)];
    --left[static_cast<std::size_t>(f)];
    return static_cast<std::uint8_t>(f);
  });
}

}  // namespace eval

TrainTestSplit holdout_split(const RatingMatrix& ratings, const SplitOptions& options) {
  eval::ProcessGroup one_process;
  return split_by_mask(
      ratings, eval::holdout_mask(ratings, eval::whole_matrix_placement(ratings), options, one_process));
}

std::vector<std::uint8_t> kfold_assignment(const RatingMatrix& ratings, int folds, std::uint64_t seed) {
  return eval::kfold_mask(ratings, eval::whole_matrix_placement(ratings), folds, seed);
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
