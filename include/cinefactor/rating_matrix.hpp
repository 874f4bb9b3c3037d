// The rating matrix: users x movies, sparse, with dense 0-based indices and maps back to the
// original MovieLens ids. Both a by-user (CSR) and a by-movie (CSC, stored as the CSR of the
// transpose) view are kept, because every factorization sweeps both sides.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace cinefactor {

// Compressed sparse rows. indices are sorted within each row; float32 values.
struct SparseMatrix {
  std::int32_t rows = 0;
  std::int32_t cols = 0;
  std::vector<std::int64_t> indptr;   // rows + 1 offsets
  std::vector<std::int32_t> indices;  // nnz column indices
  std::vector<float> values;          // nnz values

  std::int64_t nnz() const noexcept { return static_cast<std::int64_t>(indices.size()); }
  std::int64_t row_begin(std::int32_t r) const noexcept { return indptr[static_cast<std::size_t>(r)]; }
  std::int64_t row_end(std::int32_t r) const noexcept { return indptr[static_cast<std::size_t>(r) + 1]; }
  std::int64_t row_nnz(std::int32_t r) const noexcept { return row_end(r) - row_begin(r); }

  // The transpose, in O(nnz + rows + cols); `permutation`, when given, receives for each entry of
  // the transpose the position of the same entry in this matrix.
  SparseMatrix transposed(std::vector<std::int64_t>* permutation = nullptr) const;
  // Throws FormatError when the arrays are inconsistent (sizes, offsets, index range, order).
  void validate() const;
};

// One rating as read from a file, in file order.
struct RatingEntry {
  std::int64_t user_id;
  std::int64_t movie_id;
  float rating;
  std::uint32_t timestamp;  // seconds since the epoch; 0 when the layout has none
};

class RatingMatrix {
 public:
  RatingMatrix() = default;

  // Builds the matrix from ratings in file order. Users and movies get dense indices in ascending
  // order of their original ids. A (user, movie) pair seen twice keeps the last rating; the number
  // of such duplicates is written to *duplicates when given.
  static RatingMatrix from_entries(std::vector<RatingEntry> entries, std::int64_t* duplicates = nullptr);

  // Builds from a finished by-user CSR with its id maps (used by the cache and by train/test splits).
  // timestamps, when not empty, is aligned with by_user.values. Validates everything.
  static RatingMatrix from_csr(SparseMatrix by_user, std::vector<std::uint32_t> timestamps,
                               std::vector<std::int64_t> user_ids, std::vector<std::int64_t> movie_ids);

  // Builds from both views at once (the dataset cache stores both, so loading skips the transpose).
  // Validates both, and checks that by_movie holds exactly the entries of by_user.
  static RatingMatrix from_csr_and_csc(SparseMatrix by_user, SparseMatrix by_movie,
                                       std::vector<std::uint32_t> timestamps,
                                       std::vector<std::int64_t> user_ids,
                                       std::vector<std::int64_t> movie_ids);

  std::int32_t n_users() const noexcept { return by_user_.rows; }
  std::int32_t n_movies() const noexcept { return by_user_.cols; }
  std::int64_t nnz() const noexcept { return by_user_.nnz(); }
  double density() const noexcept;

  const SparseMatrix& by_user() const noexcept { return by_user_; }    // CSR: users x movies
  const SparseMatrix& by_movie() const noexcept { return by_movie_; }  // CSC as CSR: movies x users
  // Aligned with by_user().values; empty when the source had no timestamps.
  std::span<const std::uint32_t> timestamps() const noexcept { return timestamps_; }

  std::span<const std::int64_t> user_ids() const noexcept { return user_ids_; }
  std::span<const std::int64_t> movie_ids() const noexcept { return movie_ids_; }
  std::optional<std::int32_t> user_index(std::int64_t user_id) const;
  std::optional<std::int32_t> movie_index(std::int64_t movie_id) const;

  std::int32_t movie_count(std::int32_t movie) const noexcept {
    return static_cast<std::int32_t>(by_movie_.row_nnz(movie));
  }
  std::span<const float> movie_means() const noexcept { return movie_means_; }
  double global_mean() const noexcept { return global_mean_; }

 private:
  // Takes finished, consistent by-user parts; builds the by-movie view and the statistics.
  static RatingMatrix assemble(SparseMatrix by_user, std::vector<std::uint32_t> timestamps,
                               std::vector<std::int64_t> user_ids, std::vector<std::int64_t> movie_ids);
  void finish();              // builds the by-movie view and the per-movie statistics
  void compute_statistics();  // the per-movie means and the global mean, from by_movie_

  SparseMatrix by_user_;
  SparseMatrix by_movie_;
  std::vector<std::uint32_t> timestamps_;
  std::vector<std::int64_t> user_ids_;   // sorted ascending: index -> original id
  std::vector<std::int64_t> movie_ids_;  // sorted ascending
  std::vector<float> movie_means_;
  double global_mean_ = 0.0;
};

}  // namespace cinefactor
