// Fixtures shared by the evaluation and metrics suites: small rating matrices built by hand and
// models whose scores are given explicitly (identity movie factors), so metric values are known.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"

namespace cinefactor::test {

struct Cell {
  std::int32_t user;
  std::int32_t movie;
  float rating;
  std::uint32_t timestamp = 0;
};

// Original ids are index * 10 + 1 / index * 10 + 7, so tests can tell ids from indices.
inline std::int64_t user_id_of(std::int32_t u) {
  return std::int64_t{u} * 10 + 1;
}
inline std::int64_t movie_id_of(std::int32_t j) {
  return std::int64_t{j} * 10 + 7;
}

// A matrix of exactly n_users x n_movies (empty rows and columns allowed). Timestamps are kept
// when any cell has one.
inline RatingMatrix make_matrix(std::int32_t n_users, std::int32_t n_movies, std::vector<Cell> cells) {
  std::sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
    return std::pair(a.user, a.movie) < std::pair(b.user, b.movie);
  });
  SparseMatrix csr;
  csr.rows = n_users;
  csr.cols = n_movies;
  csr.indptr.assign(static_cast<std::size_t>(n_users) + 1, 0);
  std::vector<std::uint32_t> ts;
  bool any_ts = false;
  for (const auto& c : cells) {
    ++csr.indptr[static_cast<std::size_t>(c.user) + 1];
    csr.indices.push_back(c.movie);
    csr.values.push_back(c.rating);
    ts.push_back(c.timestamp);
    any_ts = any_ts || c.timestamp != 0;
  }
  for (std::size_t i = 1; i < csr.indptr.size(); ++i) csr.indptr[i] += csr.indptr[i - 1];
  if (!any_ts) ts.clear();
  std::vector<std::int64_t> users(static_cast<std::size_t>(n_users));
  std::vector<std::int64_t> movies(static_cast<std::size_t>(n_movies));
  for (std::int32_t u = 0; u < n_users; ++u) users[static_cast<std::size_t>(u)] = user_id_of(u);
  for (std::int32_t j = 0; j < n_movies; ++j) movies[static_cast<std::size_t>(j)] = movie_id_of(j);
  return RatingMatrix::from_csr(std::move(csr), std::move(ts), std::move(users), std::move(movies));
}

// A model with ids of `shape` whose score of (u, j) is scores(u, j) exactly: user factors = the
// scores, movie factors = the identity. It predicts ratings (masked NMF), so RMSE/MAE apply.
inline Model score_model(const RatingMatrix& shape, const DenseMatrix& scores) {
  Model m;
  m.algorithm = Algorithm::nmf;
  m.objective = NmfObjective::masked;
  m.user_ids.assign(shape.user_ids().begin(), shape.user_ids().end());
  m.movie_ids.assign(shape.movie_ids().begin(), shape.movie_ids().end());
  m.user_factors = scores;
  m.movie_factors = DenseMatrix(shape.n_movies(), shape.n_movies());
  for (std::int32_t j = 0; j < shape.n_movies(); ++j) m.movie_factors(j, j) = 1.0f;
  return m;
}

// A random matrix: every user rates between 1 and max_per_user distinct movies, ratings on the
// half-star scale, timestamps in [1, timestamp_range] (ties happen on purpose).
inline RatingMatrix random_matrix(std::int32_t n_users, std::int32_t n_movies, int max_per_user,
                                  std::uint64_t seed, std::uint32_t timestamp_range = 50) {
  std::mt19937_64 rng(seed);
  std::vector<Cell> cells;
  std::vector<std::int32_t> movies(static_cast<std::size_t>(n_movies));
  for (std::int32_t j = 0; j < n_movies; ++j) movies[static_cast<std::size_t>(j)] = j;
  for (std::int32_t u = 0; u < n_users; ++u) {
    const auto n = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(max_per_user));
    for (int i = 0; i < n; ++i) {  // partial shuffle: n distinct movies
      const auto pick = i + static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(n_movies - i));
      std::swap(movies[static_cast<std::size_t>(i)], movies[pick]);
      cells.push_back({u, movies[static_cast<std::size_t>(i)], 0.5f * static_cast<float>(1 + rng() % 10),
                       1 + static_cast<std::uint32_t>(rng() % timestamp_range)});
    }
  }
  return make_matrix(n_users, n_movies, std::move(cells));
}

}  // namespace cinefactor::test
