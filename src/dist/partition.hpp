// A distributed load of a MovieLens dataset: each rank reads only its byte range of the ratings file and
// ends up with the ratings of the users it owns (1D partition by users), every movie column of the
// single-process matrix, and the catalog. No rank ever holds the whole rating matrix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "cinefactor/dataset.hpp"
#include "dist/communicator.hpp"

namespace cinefactor::dist {

struct Partition {
  // The catalog (movies, movie_of_column, layout, scale, dir) as one process loads it, and `ratings`:
  // this rank's users (ascending id) x every rated movie (the single-process columns). report counts
  // the whole file (every rank's lines, skipped lines and duplicates).
  Dataset data;
  std::vector<std::int64_t> user_ids;      // every user of the file, ascending: the single-process rows
  std::vector<std::int32_t> owner;         // per user (index into user_ids): the rank holding its ratings
  std::vector<std::int32_t> local_users;   // this rank's users, as indices into user_ids, ascending
  std::vector<std::int64_t> movie_counts;  // per movie column: its ratings over every rank
  std::vector<float> movie_means;          // per movie column: the mean of those ratings (0 when none)
  std::int64_t total_ratings = 0;          // over every rank, duplicates removed
  double global_mean = 0.0;                // of every rating

  std::int32_t n_users() const noexcept { return static_cast<std::int32_t>(user_ids.size()); }
  std::int32_t n_movies() const noexcept { return data.ratings.n_movies(); }
};

// Loads `dir` across the ranks of `comm` (every rank calls it). The ratings file is cut into one byte
// range per rank at line starts; each rank parses its range with the single-process parser (line numbers
// are the file's), the movie columns are the union of the movies rated anywhere, users are shuffled
// with `seed` and cut into blocks of about equal rating counts, and each rating travels to its user's
// rank (one all-to-all). A bad line, a missing file or any other failure on any rank makes every rank
// throw the same Error naming the rank and the cause (the first bad line in file order when several).
Partition load_partition(Communicator& comm, const std::filesystem::path& dir, const LoadOptions& options,
                         std::uint64_t seed);

// The same users and movies with other ratings of this rank's users (a training split: `ratings` has the
// local matrix's rows and columns); the global statistics are summed anew over the ranks. The catalog is
// not copied (`data` has only the ratings).
Partition with_ratings(Communicator& comm, const Partition& part, RatingMatrix ratings);

}  // namespace cinefactor::dist
