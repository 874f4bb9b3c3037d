// RatingMatrix (see rating_matrix.hpp): dense ids, the CSR and CSC views, and their assembly from
// entries or parts.
#include "cinefactor/rating_matrix.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>

#include "cinefactor/error.hpp"

namespace cinefactor {
namespace {

// Ids up to this bound are indexed through a presence table (O(n)); larger ones by sorting.
constexpr std::int64_t kDenseIdLimit = std::int64_t{1} << 26;
// The transpose first sorts entries into at most this many buckets of adjacent columns.
constexpr std::int32_t kTransposeBuckets = 256;

// Returns the sorted distinct ids of `ids_of(entries)` and fills `index` with each entry's dense index.
template <typename IdOf>
std::vector<std::int64_t> densify_ids(const std::vector<RatingEntry>& entries, IdOf id_of,
                                      std::vector<std::int32_t>& index) {
  const auto n = static_cast<std::int64_t>(entries.size());
  index.resize(entries.size());
  std::int64_t lo = std::numeric_limits<std::int64_t>::max();
  std::int64_t hi = std::numeric_limits<std::int64_t>::min();
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto id = id_of(entries[static_cast<std::size_t>(i)]);
    lo = std::min(lo, id);
    hi = std::max(hi, id);
  }
  std::vector<std::int64_t> ids;
  if (n > 0 && hi - lo < kDenseIdLimit) {
    std::vector<std::int32_t> slot(static_cast<std::size_t>(hi - lo + 1), -1);
    // Every thread stores the same value, so relaxed atomic stores are enough.
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      std::atomic_ref<std::int32_t>(
          slot[static_cast<std::size_t>(id_of(entries[static_cast<std::size_t>(i)]) - lo)])
          .store(0, std::memory_order_relaxed);
    }
    for (std::size_t s = 0; s < slot.size(); ++s) {
      if (slot[s] == 0) {
        slot[s] = static_cast<std::int32_t>(ids.size());
        ids.push_back(lo + static_cast<std::int64_t>(s));
      }
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      index[static_cast<std::size_t>(i)] =
          slot[static_cast<std::size_t>(id_of(entries[static_cast<std::size_t>(i)]) - lo)];
    }
  } else {
    ids.reserve(entries.size());
    for (const auto& e : entries) ids.push_back(id_of(e));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const auto id = id_of(entries[static_cast<std::size_t>(i)]);
      index[static_cast<std::size_t>(i)] =
          static_cast<std::int32_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
    }
  }
  if (ids.size() > static_cast<std::size_t>(INT32_MAX))
    throw InvalidArgument("too many distinct ids for 32-bit indices");
  return ids;
}

// True when the entries are strictly increasing by (user, movie), as MovieLens writes its files:
// then the file order is already the CSR order and there are no duplicates.
bool sorted_by_user_then_movie(const std::vector<RatingEntry>& entries) {
  const auto n = static_cast<std::int64_t>(entries.size());
  int unsorted = 0;
#pragma omp parallel for schedule(static) reduction(| : unsorted)
  for (std::int64_t i = 1; i < n; ++i) {
    const auto& a = entries[static_cast<std::size_t>(i) - 1];
    const auto& b = entries[static_cast<std::size_t>(i)];
    unsorted |=
        static_cast<int>(a.user_id > b.user_id || (a.user_id == b.user_id && a.movie_id >= b.movie_id));
  }
  return unsorted == 0;
}

// Row boundaries of sorted entries: the distinct user ids and where each one's run starts.
void user_runs(const std::vector<RatingEntry>& entries, std::vector<std::int64_t>& user_ids,
               std::vector<std::int64_t>& indptr) {
  const auto n = static_cast<std::int64_t>(entries.size());
  auto starts_run = [&](std::int64_t i) {
    return i == 0 ||
           entries[static_cast<std::size_t>(i)].user_id != entries[static_cast<std::size_t>(i) - 1].user_id;
  };
  std::vector<std::int64_t> thread_runs;
#pragma omp parallel
  {
    const int threads = omp_get_num_threads();
    const int t = omp_get_thread_num();
#pragma omp single
    thread_runs.assign(static_cast<std::size_t>(threads) + 1, 0);
    const std::int64_t begin = n * t / threads;
    const std::int64_t end = n * (t + 1) / threads;
    std::int64_t runs = 0;
    for (std::int64_t i = begin; i < end; ++i) runs += starts_run(i);
    thread_runs[static_cast<std::size_t>(t) + 1] = runs;
#pragma omp barrier
#pragma omp single
    {
      std::partial_sum(thread_runs.begin(), thread_runs.end(), thread_runs.begin());
      user_ids.resize(static_cast<std::size_t>(thread_runs.back()));
      indptr.resize(static_cast<std::size_t>(thread_runs.back()) + 1);
      indptr.back() = n;
    }
    auto k = static_cast<std::size_t>(thread_runs[static_cast<std::size_t>(t)]);
    for (std::int64_t i = begin; i < end; ++i) {
      if (starts_run(i)) {
        user_ids[k] = entries[static_cast<std::size_t>(i)].user_id;
        indptr[k++] = i;
      }
    }
  }
}

std::optional<std::int32_t> find_index(const std::vector<std::int64_t>& ids, std::int64_t id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return std::nullopt;
  return static_cast<std::int32_t>(it - ids.begin());
}

}  // namespace

SparseMatrix SparseMatrix::transposed(std::vector<std::int64_t>* permutation) const {
  SparseMatrix t;
  t.rows = cols;
  t.cols = rows;
  t.indptr.assign(static_cast<std::size_t>(cols) + 1, 0);
  t.indices.resize(indices.size());
  t.values.resize(values.size());
  if (permutation) permutation->resize(indices.size());
  if (cols == 0 || nnz() == 0) return t;

  // Scattering straight to the final positions writes to as many places as there are columns, which
  // thrashes the TLB on large matrices. Two passes do better: first by buckets of adjacent columns
  // (few write streams), then inside each bucket (a region that fits in cache).
  int shift = 0;
  while (((cols - 1) >> shift) >= kTransposeBuckets) ++shift;
  const auto n_buckets = static_cast<std::size_t>(((cols - 1) >> shift) + 1);
  auto bucket_begin = [&](std::size_t b) {
    return std::min<std::int64_t>(static_cast<std::int64_t>(b) << shift, cols);
  };
  std::vector<std::int32_t> tmp_row(indices.size());
  std::vector<std::int32_t> tmp_col(indices.size());
  std::vector<float> tmp_value(values.size());
  std::vector<std::int64_t> tmp_position(permutation ? indices.size() : 0);

  std::vector<std::vector<std::int64_t>> counts;  // per thread, per column
  std::vector<std::vector<std::int64_t>> next;    // per thread, per bucket: where its next entry goes
#pragma omp parallel
  {
    const int threads = omp_get_num_threads();
    const int th = omp_get_thread_num();
#pragma omp single
    {
      counts.resize(static_cast<std::size_t>(threads));
      next.resize(static_cast<std::size_t>(threads));
    }
    // Each thread takes a contiguous block of rows, balanced by entries; blocks stay in row order
    // inside every bucket, so every row of the transpose comes out sorted.
    auto first_row = [&](int k) {
      const auto target = nnz() * k / threads;
      return static_cast<std::int32_t>(std::lower_bound(indptr.begin(), indptr.end() - 1, target) -
                                       indptr.begin());
    };
    const std::int32_t r0 = th == 0 ? 0 : first_row(th);
    const std::int32_t r1 = th + 1 == threads ? rows : first_row(th + 1);
    auto& mine = counts[static_cast<std::size_t>(th)];
    mine.assign(static_cast<std::size_t>(cols), 0);
    for (std::int64_t p = row_begin(r0); p < row_begin(r1); ++p)
      ++mine[static_cast<std::size_t>(indices[static_cast<std::size_t>(p)])];
#pragma omp barrier
#pragma omp for schedule(static)
    for (std::int32_t c = 0; c < cols; ++c) {
      std::int64_t total = 0;
      for (auto& per_thread : counts) total += per_thread[static_cast<std::size_t>(c)];
      t.indptr[static_cast<std::size_t>(c) + 1] = total;
    }
#pragma omp single
    {
      std::partial_sum(t.indptr.begin(), t.indptr.end(), t.indptr.begin());
      for (std::size_t b = 0; b < n_buckets; ++b) {
        std::int64_t offset = t.indptr[static_cast<std::size_t>(bucket_begin(b))];
        for (int k = 0; k < threads; ++k) {
          auto& bucket_next = next[static_cast<std::size_t>(k)];
          if (b == 0) bucket_next.assign(n_buckets, 0);
          bucket_next[b] = offset;
          for (auto c = bucket_begin(b); c < bucket_begin(b + 1); ++c)
            offset += counts[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)];
        }
      }
    }
    auto& my_next = next[static_cast<std::size_t>(th)];
    for (std::int32_t r = r0; r < r1; ++r) {
      for (std::int64_t p = row_begin(r); p < row_end(r); ++p) {
        const auto c = indices[static_cast<std::size_t>(p)];
        const auto q = static_cast<std::size_t>(my_next[static_cast<std::size_t>(c >> shift)]++);
        tmp_row[q] = r;
        tmp_col[q] = c;
        tmp_value[q] = values[static_cast<std::size_t>(p)];
        if (permutation) tmp_position[q] = p;
      }
    }
#pragma omp barrier
    std::vector<std::int64_t> cursor(std::size_t{1} << shift);
#pragma omp for schedule(dynamic, 1)
    for (std::size_t b = 0; b < n_buckets; ++b) {
      const auto c0 = bucket_begin(b);
      const auto c1 = bucket_begin(b + 1);
      for (auto c = c0; c < c1; ++c)
        cursor[static_cast<std::size_t>(c - c0)] = t.indptr[static_cast<std::size_t>(c)];
      for (auto q = t.indptr[static_cast<std::size_t>(c0)]; q < t.indptr[static_cast<std::size_t>(c1)]; ++q) {
        const auto sq = static_cast<std::size_t>(q);
        const auto d = static_cast<std::size_t>(cursor[static_cast<std::size_t>(tmp_col[sq] - c0)]++);
        t.indices[d] = tmp_row[sq];
        t.values[d] = tmp_value[sq];
        if (permutation) (*permutation)[d] = tmp_position[sq];
      }
    }
  }
  return t;
}

void SparseMatrix::validate() const {
  auto fail = [](const std::string& what) { throw FormatError("inconsistent sparse matrix: " + what); };
  if (rows < 0 || cols < 0) fail("negative dimensions");
  if (indptr.size() != static_cast<std::size_t>(rows) + 1) fail("indptr has the wrong length");
  if (indptr.front() != 0 || indptr.back() != nnz()) fail("indptr does not span the entries");
  if (values.size() != indices.size()) fail("values and indices differ in length");
  auto row_problem = [&](std::int32_t r) -> const char* {
    if (row_end(r) < row_begin(r) || row_begin(r) < 0 || row_end(r) > nnz())
      return "indptr is not monotonic at row ";
    for (std::int64_t p = row_begin(r); p < row_end(r); ++p) {
      const auto c = indices[static_cast<std::size_t>(p)];
      if (c < 0 || c >= cols) return "column index out of range in row ";
      if (p > row_begin(r) && indices[static_cast<std::size_t>(p) - 1] >= c)
        return "columns not strictly increasing in row ";
    }
    return nullptr;
  };
  // Checked in parallel; the first bad row (in order) is the one reported.
  std::int32_t first_bad = rows;
#pragma omp parallel for schedule(static) reduction(min : first_bad)
  for (std::int32_t r = 0; r < rows; ++r) {
    if (r < first_bad && row_problem(r)) first_bad = r;
  }
  if (first_bad < rows) fail(row_problem(first_bad) + std::to_string(first_bad));
}

RatingMatrix RatingMatrix::from_entries(std::vector<RatingEntry> entries, std::int64_t* duplicates) {
  if (sorted_by_user_then_movie(entries)) {
    // The file order is the CSR order: no scatter, no per-user sort, no duplicates.
    SparseMatrix csr;
    std::vector<std::int64_t> user_ids;
    user_runs(entries, user_ids, csr.indptr);
    auto movie_ids = densify_ids(
        entries, [](const RatingEntry& e) { return e.movie_id; }, csr.indices);
    if (user_ids.size() > static_cast<std::size_t>(INT32_MAX))
      throw InvalidArgument("too many distinct ids for 32-bit indices");
    csr.rows = static_cast<std::int32_t>(user_ids.size());
    csr.cols = static_cast<std::int32_t>(movie_ids.size());
    const auto n = static_cast<std::int64_t>(entries.size());
    csr.values.resize(entries.size());
    std::vector<std::uint32_t> timestamps(entries.size());
    bool any_timestamp = false;
#pragma omp parallel for schedule(static) reduction(|| : any_timestamp)
    for (std::int64_t i = 0; i < n; ++i) {
      const auto& e = entries[static_cast<std::size_t>(i)];
      csr.values[static_cast<std::size_t>(i)] = e.rating;
      timestamps[static_cast<std::size_t>(i)] = e.timestamp;
      any_timestamp = any_timestamp || e.timestamp != 0;
    }
    if (!any_timestamp) timestamps.clear();
    if (duplicates) *duplicates = 0;
    entries = {};  // release before the transpose needs its memory
    return from_csr(std::move(csr), std::move(timestamps), std::move(user_ids), std::move(movie_ids));
  }
  std::vector<std::int32_t> user_index;
  std::vector<std::int32_t> movie_index;
  auto user_ids = densify_ids(
      entries, [](const RatingEntry& e) { return e.user_id; }, user_index);
  auto movie_ids = densify_ids(
      entries, [](const RatingEntry& e) { return e.movie_id; }, movie_index);

  const auto n_users = static_cast<std::int32_t>(user_ids.size());
  SparseMatrix csr;
  csr.rows = n_users;
  csr.cols = static_cast<std::int32_t>(movie_ids.size());
  std::vector<std::int64_t> start(static_cast<std::size_t>(n_users) + 1, 0);
  for (auto u : user_index) ++start[static_cast<std::size_t>(u) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());

  // Scatter entry positions by user, keeping file order inside each user.
  std::vector<std::int64_t> order(entries.size());
  {
    std::vector<std::int64_t> next(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      order[static_cast<std::size_t>(next[static_cast<std::size_t>(user_index[i])]++)] =
          static_cast<std::int64_t>(i);
    }
  }

  // Sort each user's entries by movie; for duplicates keep the one latest in the file.
  std::vector<std::int64_t> kept(static_cast<std::size_t>(n_users), 0);
#pragma omp parallel for schedule(dynamic, 256)
  for (std::int32_t u = 0; u < n_users; ++u) {
    auto* first = order.data() + start[static_cast<std::size_t>(u)];
    auto* last = order.data() + start[static_cast<std::size_t>(u) + 1];
    std::sort(first, last, [&](std::int64_t a, std::int64_t b) {
      const auto ma = movie_index[static_cast<std::size_t>(a)];
      const auto mb = movie_index[static_cast<std::size_t>(b)];
      return ma != mb ? ma < mb : a < b;
    });
    auto* out = first;
    for (auto* p = first; p < last; ++p) {
      if (p + 1 < last &&
          movie_index[static_cast<std::size_t>(p[0])] == movie_index[static_cast<std::size_t>(p[1])])
        continue;
      *out++ = *p;
    }
    kept[static_cast<std::size_t>(u)] = out - first;
  }

  csr.indptr.assign(static_cast<std::size_t>(n_users) + 1, 0);
  for (std::int32_t u = 0; u < n_users; ++u) {
    csr.indptr[static_cast<std::size_t>(u) + 1] =
        csr.indptr[static_cast<std::size_t>(u)] + kept[static_cast<std::size_t>(u)];
  }
  const auto nnz = csr.indptr.back();
  if (duplicates) *duplicates = static_cast<std::int64_t>(entries.size()) - nnz;
  csr.indices.resize(static_cast<std::size_t>(nnz));
  csr.values.resize(static_cast<std::size_t>(nnz));
  std::vector<std::uint32_t> timestamps(static_cast<std::size_t>(nnz));
  bool any_timestamp = false;
#pragma omp parallel for schedule(dynamic, 256) reduction(|| : any_timestamp)
  for (std::int32_t u = 0; u < n_users; ++u) {
    const auto src = start[static_cast<std::size_t>(u)];
    const auto dst = csr.indptr[static_cast<std::size_t>(u)];
    for (std::int64_t k = 0; k < kept[static_cast<std::size_t>(u)]; ++k) {
      const auto& e = entries[static_cast<std::size_t>(order[static_cast<std::size_t>(src + k)])];
      const auto q = static_cast<std::size_t>(dst + k);
      csr.indices[q] = movie_index[static_cast<std::size_t>(order[static_cast<std::size_t>(src + k)])];
      csr.values[q] = e.rating;
      timestamps[q] = e.timestamp;
      any_timestamp = any_timestamp || e.timestamp != 0;
    }
  }
  if (!any_timestamp) timestamps.clear();

  return assemble(std::move(csr), std::move(timestamps), std::move(user_ids), std::move(movie_ids));
}

namespace {

void check_csr_parts(const SparseMatrix& by_user, const std::vector<std::uint32_t>& timestamps,
                     const std::vector<std::int64_t>& user_ids, const std::vector<std::int64_t>& movie_ids) {
  by_user.validate();
  if (user_ids.size() != static_cast<std::size_t>(by_user.rows) ||
      movie_ids.size() != static_cast<std::size_t>(by_user.cols)) {
    throw FormatError("rating matrix id maps do not match its dimensions");
  }
  if (!std::is_sorted(user_ids.begin(), user_ids.end()) ||
      !std::is_sorted(movie_ids.begin(), movie_ids.end()) ||
      std::adjacent_find(user_ids.begin(), user_ids.end()) != user_ids.end() ||
      std::adjacent_find(movie_ids.begin(), movie_ids.end()) != movie_ids.end()) {
    throw FormatError("rating matrix id maps must be strictly increasing");
  }
  if (!timestamps.empty() && timestamps.size() != by_user.values.size()) {
    throw FormatError("rating timestamps do not match the number of ratings");
  }
}

// Order-independent digest of a matrix's entries: the sum of a mixed hash of each (row, column, value),
// with the roles of row and column given by `transpose`. Equal for a matrix and its transpose.
std::uint64_t entry_digest(const SparseMatrix& m, bool transpose) {
  std::uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (std::int32_t r = 0; r < m.rows; ++r) {
    for (std::int64_t p = m.row_begin(r); p < m.row_end(r); ++p) {
      const auto c =
          static_cast<std::uint64_t>(static_cast<std::uint32_t>(m.indices[static_cast<std::size_t>(p)]));
      const auto row = static_cast<std::uint64_t>(static_cast<std::uint32_t>(r));
      std::uint32_t bits;
      std::memcpy(&bits, &m.values[static_cast<std::size_t>(p)], sizeof bits);
      std::uint64_t h = (transpose ? (c << 32 | row) : (row << 32 | c)) * 0x9E3779B97F4A7C15ull ^ bits;
      h ^= h >> 31;
      h *= 0xBF58476D1CE4E5B9ull;
      h ^= h >> 29;
      sum += h;
    }
  }
  return sum;
}

}  // namespace

RatingMatrix RatingMatrix::from_csr_and_csc(SparseMatrix by_user, SparseMatrix by_movie,
                                            std::vector<std::uint32_t> timestamps,
                                            std::vector<std::int64_t> user_ids,
                                            std::vector<std::int64_t> movie_ids) {
  by_movie.validate();
  if (by_movie.rows != by_user.cols || by_movie.cols != by_user.rows || by_movie.nnz() != by_user.nnz()) {
    throw FormatError("the by-movie view does not match the by-user view in shape");
  }
  check_csr_parts(by_user, timestamps, user_ids, movie_ids);
  if (entry_digest(by_user, false) != entry_digest(by_movie, true)) {
    throw FormatError("the by-movie view does not hold the entries of the by-user view");
  }
  RatingMatrix m;
  m.by_user_ = std::move(by_user);
  m.by_movie_ = std::move(by_movie);
  m.timestamps_ = std::move(timestamps);
  m.user_ids_ = std::move(user_ids);
  m.movie_ids_ = std::move(movie_ids);
  m.compute_statistics();
  return m;
}

RatingMatrix RatingMatrix::from_csr(SparseMatrix by_user, std::vector<std::uint32_t> timestamps,
                                    std::vector<std::int64_t> user_ids, std::vector<std::int64_t> movie_ids) {
  check_csr_parts(by_user, timestamps, user_ids, movie_ids);
  return assemble(std::move(by_user), std::move(timestamps), std::move(user_ids), std::move(movie_ids));
}

RatingMatrix RatingMatrix::assemble(SparseMatrix by_user, std::vector<std::uint32_t> timestamps,
                                    std::vector<std::int64_t> user_ids, std::vector<std::int64_t> movie_ids) {
  RatingMatrix m;
  m.by_user_ = std::move(by_user);
  m.timestamps_ = std::move(timestamps);
  m.user_ids_ = std::move(user_ids);
  m.movie_ids_ = std::move(movie_ids);
  m.finish();
  return m;
}

void RatingMatrix::finish() {
  by_movie_ = by_user_.transposed();
  compute_statistics();
}

void RatingMatrix::compute_statistics() {
  movie_means_.assign(static_cast<std::size_t>(by_movie_.rows), 0.0f);
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (std::int32_t j = 0; j < by_movie_.rows; ++j) {
    double sum = 0.0;
    for (std::int64_t p = by_movie_.row_begin(j); p < by_movie_.row_end(j); ++p)
      sum += by_movie_.values[static_cast<std::size_t>(p)];
    const auto count = by_movie_.row_nnz(j);
    movie_means_[static_cast<std::size_t>(j)] =
        count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
    total += sum;
  }
  global_mean_ = nnz() > 0 ? total / static_cast<double>(nnz()) : 0.0;
}

double RatingMatrix::density() const noexcept {
  const double cells = static_cast<double>(n_users()) * static_cast<double>(n_movies());
  return cells > 0 ? static_cast<double>(nnz()) / cells : 0.0;
}

std::optional<std::int32_t> RatingMatrix::user_index(std::int64_t user_id) const {
  return find_index(user_ids_, user_id);
}
std::optional<std::int32_t> RatingMatrix::movie_index(std::int64_t movie_id) const {
  return find_index(movie_ids_, movie_id);
}

}  // namespace cinefactor
