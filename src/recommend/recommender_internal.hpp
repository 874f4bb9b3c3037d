// What the Recommender's source files share (not a public header): Eigen views of its row-major
// matrices, the compiled form of a request's filters, and the per-thread scratch buffers requests
// score into.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "cinefactor/recommender.hpp"

namespace cinefactor {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Filters as compile_filters() leaves them for passes(): a year interval, a popularity floor and genre
// bit masks.
struct Recommender::FilterMask {
  bool check_year = false;
  std::int32_t year_lo = 0;
  std::int32_t year_hi = 0;
  std::int32_t min_ratings = 0;
  std::vector<std::uint64_t> include;  // empty: no restriction
  std::vector<std::uint64_t> exclude;  // empty: nothing excluded
};

// A visitor's implicit-ALS system A x = b (fold_in.cpp): A = Y^T Y + l2 I + sum_i (c - 1) y_i y_i^T over the
// positive ratings, b = sum_i c y_i; `positive` flags the ratings that count.
struct Recommender::AlsSystem {
  Eigen::LDLT<Eigen::MatrixXd> a;
  Eigen::VectorXd b;
  std::vector<bool> positive;
  bool any = false;
};

struct Workspace {
  std::vector<float> scores;
  std::vector<std::int32_t> candidates;
};

// One per thread: requests reuse their buffers without sharing them across threads.
Workspace& thread_workspace();

}  // namespace cinefactor
