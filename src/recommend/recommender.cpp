// The Recommender's construction and its check of a visitor's ratings. Construction checks the model,
// picks the fold-in for its algorithm and precomputes what every request needs: the Gram matrix
// (zero-NMF fold-in), weighted factor norms (similar movies, NMF explanations), the movies in
// popularity order with reordered copies of their factors, and per-movie year, rating count and genre
// bits (filters). The request methods live beside it: fold_in.cpp, scoring.cpp (recommend, top-N),
// filters.cpp, explain.cpp, similar.cpp.
#include "cinefactor/recommender.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "cinefactor/error.hpp"
#include "cinefactor/train.hpp"
#include "core/rating_grid.hpp"
#include "recommend/messages.hpp"
#include "recommend/recommender_internal.hpp"

namespace cinefactor {
namespace {

// scikit-learn's NMF defaults, used when the model's hyperparameters do not say.
constexpr int kSklearnMaxIter = 200;
constexpr double kSklearnTol = 1e-4;

}  // namespace

Workspace& thread_workspace() {
  thread_local Workspace workspace;
  return workspace;
}

Recommender::Recommender(std::shared_ptr<const Model> model, RecommenderOptions options)
    : model_(std::move(model)), options_(options) {
  if (!model_) throw InvalidArgument("Recommender needs a model");
  const Model& m = *model_;
  const auto n = static_cast<std::size_t>(m.n_movies());
  const auto k = static_cast<std::size_t>(m.rank());
  if (k > 0 && static_cast<std::size_t>(m.movie_factors.rows) != n) {
    throw InvalidArgument(
        fmt::format("model has {} movie ids but {} movie factor rows", n, m.movie_factors.rows));
  }
  if (m.movie_factors.data.size() != static_cast<std::size_t>(m.movie_factors.rows) * k) {
    throw InvalidArgument("model's movie factor matrix has the wrong number of values");
  }
  if (!m.movie_bias.empty() && m.movie_bias.size() != n) {
    throw InvalidArgument(fmt::format("model has {} movie ids but {} movie biases", n, m.movie_bias.size()));
  }
  if (!m.catalog.empty() && m.catalog.size() != n) {
    throw InvalidArgument(fmt::format("model has {} movie ids but {} catalog entries", n, m.catalog.size()));
  }
  if (!std::is_sorted(m.movie_ids.begin(), m.movie_ids.end())) {
    throw InvalidArgument("model's movie ids are not sorted ascending");
  }
  if (!(options_.scale.min <= options_.scale.max)) throw InvalidArgument("rating scale has min > max");

  const TrainOptions defaults;
  switch (m.algorithm) {
    case Algorithm::mean:
    case Algorithm::popularity:
      kind_ = FoldKind::none;
      break;
    case Algorithm::bias:
      kind_ = FoldKind::user_bias;
      l2_bias_ = m.hyperparameters.l2_bias.value_or(defaults.l2_bias);
      break;
    case Algorithm::svd:
      kind_ = k > 0 ? FoldKind::projection : FoldKind::none;
      break;
    case Algorithm::nmf:
      if (m.objective == NmfObjective::masked) {
        kind_ = FoldKind::masked_nnls;
        l2_user_ = m.hyperparameters.l2_user.value_or(defaults.l2_user);
        l2_bias_ = m.hyperparameters.l2_bias.value_or(defaults.l2_bias);
      } else {
        kind_ = FoldKind::sklearn_transform;
        transform_max_iterations_ = options_.transform_max_iterations > 0
                                        ? options_.transform_max_iterations
                                        : m.hyperparameters.max_iterations.value_or(kSklearnMaxIter);
        transform_tolerance_ = options_.transform_tolerance >= 0.0
                                   ? options_.transform_tolerance
                                   : m.hyperparameters.tolerance.value_or(kSklearnTol);
      }
      break;
    case Algorithm::als:
      kind_ = k > 0 ? FoldKind::implicit_als : FoldKind::none;
      als_l2_ = m.hyperparameters.als_l2.value_or(defaults.als_l2);
      als_confidence_ = 1.0 + static_cast<double>(m.hyperparameters.alpha.value_or(defaults.alpha));
      positive_threshold_ = m.hyperparameters.positive_threshold.value_or(defaults.positive_threshold);
      if (!(als_l2_ > 0.0) || !(als_confidence_ >= 1.0))
        throw InvalidArgument("model has an implicit-ALS l2 <= 0 or alpha < 0");
      break;
  }
  if (l2_user_ < 0.0 || l2_bias_ < 0.0) throw InvalidArgument("model has a negative regularization weight");

  if (k > 0) {
    const Eigen::Map<const RowMatrixXf> H(m.movie_factors.data.data(), static_cast<Eigen::Index>(n),
                                          static_cast<Eigen::Index>(k));
    if (kind_ == FoldKind::sklearn_transform || kind_ == FoldKind::implicit_als) {
      // H H^T in scikit-learn's orientation (components x features) is our movie_factors^T movie_factors.
      const Eigen::MatrixXd gram = (H.cast<double>().transpose() * H.cast<double>());
      gram_.resize(k * k);
      Eigen::Map<RowMatrixXd>(gram_.data(), static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(k)) =
          gram;
    }
    similarity_weights_.assign(k, 1.0f);
    if (m.algorithm == Algorithm::svd && m.singular_values.size() == k) {
      for (std::size_t f = 0; f < k; ++f)
        similarity_weights_[f] = m.singular_values[f] * m.singular_values[f];
    }
    const Eigen::Map<const Eigen::VectorXf> w(similarity_weights_.data(), static_cast<Eigen::Index>(k));
    norms_.resize(n);
    for (std::size_t j = 0; j < n; ++j) {
      const auto row = H.row(static_cast<Eigen::Index>(j));
      norms_[j] = std::sqrt((row.array().square() * w.transpose().array()).sum());
    }
  }

  years_.assign(n, 0);
  counts_.assign(n, 0);
  std::map<std::string, std::size_t> genre_index;
  for (const auto& entry : m.catalog) {
    for (const auto& g : entry.movie.genres) genre_index.emplace(g, 0);
  }
  for (auto& [name, index] : genre_index) {
    index = genre_names_.size();
    genre_names_.push_back(name);
  }
  genre_words_ = (genre_names_.size() + 63) / 64;
  genre_bits_.assign(n * genre_words_, 0);
  for (std::size_t j = 0; j < m.catalog.size(); ++j) {
    const auto& entry = m.catalog[j];
    years_[j] = entry.movie.year;
    counts_[j] = entry.rating_count;
    for (const auto& g : entry.movie.genres) {
      const auto bit = genre_index.at(g);
      genre_bits_[j * genre_words_ + bit / 64] |= std::uint64_t{1} << (bit % 64);
    }
  }
  by_count_.resize(n);
  std::iota(by_count_.begin(), by_count_.end(), 0);
  std::stable_sort(by_count_.begin(), by_count_.end(), [&](std::int32_t a, std::int32_t b) {
    return counts_[static_cast<std::size_t>(a)] > counts_[static_cast<std::size_t>(b)];
  });
  sorted_counts_.resize(n);
  for (std::size_t i = 0; i < n; ++i) sorted_counts_[i] = counts_[static_cast<std::size_t>(by_count_[i])];
  // Reordered copies of what scoring streams through, so a popularity floor reads a contiguous prefix.
  sorted_factors_.resize(n * k);
  for (std::size_t i = 0; i < n && k > 0; ++i) {
    const auto row = m.movie_factors.row(by_count_[i]);
    std::copy(row.begin(), row.end(), sorted_factors_.begin() + static_cast<std::ptrdiff_t>(i * k));
  }
  if (!m.movie_bias.empty()) {
    sorted_bias_.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      sorted_bias_[i] = m.movie_bias[static_cast<std::size_t>(by_count_[i])];
  }
  if (const float shift = m.unseen_shift(); shift != 0.0f) {
    sorted_unseen_.resize(n);
    for (std::size_t i = 0; i < n; ++i) sorted_unseen_[i] = m.unseen_movie(by_count_[i]) ? shift : 0.0f;
  }
  if (k > 0) {
    sorted_norms_.resize(n);
    for (std::size_t i = 0; i < n; ++i) sorted_norms_[i] = norms_[static_cast<std::size_t>(by_count_[i])];
  }
}

std::vector<std::int32_t> Recommender::resolve(std::span<const VisitorRating> ratings) const {
  const Model& m = *model_;
  const RatingGrid scale{options_.scale.min, options_.scale.max, 0.0f};
  std::vector<std::int32_t> rated;
  rated.reserve(ratings.size());
  std::vector<std::int64_t> unknown;
  std::vector<std::string> bad;
  for (const auto& r : ratings) {
    const auto index = m.movie_index(r.movie_id);
    if (!index) unknown.push_back(r.movie_id);
    if (!on_rating_grid(r.rating, scale)) {
      bad.push_back(
          rating_grid_error(fmt::format("movie {}", r.movie_id), scale, fmt::format("{}", r.rating)));
    }
    rated.push_back(index.value_or(-1));
  }
  std::vector<std::int64_t> repeated;
  {
    std::vector<std::int64_t> ids;
    for (const auto& r : ratings) ids.push_back(r.movie_id);
    std::sort(ids.begin(), ids.end());
    for (std::size_t i = 1; i < ids.size(); ++i) {
      if (ids[i] == ids[i - 1] && (repeated.empty() || repeated.back() != ids[i])) repeated.push_back(ids[i]);
    }
  }
  if (unknown.empty() && bad.empty() && repeated.empty()) return rated;
  std::vector<std::string> problems;
  if (!unknown.empty()) problems.push_back(unknown_movies_message(unknown, algorithm_name(m.algorithm)));
  if (!repeated.empty()) {
    problems.push_back(fmt::format("movie id{} rated more than once: {}", repeated.size() == 1 ? "" : "s",
                                   join_listed(repeated)));
  }
  if (!bad.empty()) problems.push_back(join_listed(bad));
  throw InvalidArgument(fmt::format("{}", fmt::join(problems, "; ")));
}

std::int32_t Recommender::index_of(std::int64_t movie_id) const {
  if (const auto j = model_->movie_index(movie_id)) return *j;
  const std::int64_t one[] = {movie_id};
  throw InvalidArgument(unknown_movies_message(one, algorithm_name(model_->algorithm)));
}

const CatalogMovie* Recommender::entry(std::int32_t movie) const noexcept {
  const auto j = static_cast<std::size_t>(movie);
  return j < model_->catalog.size() ? &model_->catalog[j] : nullptr;
}

}  // namespace cinefactor
