// Recommendations for a visitor the model has never seen: the visitor's handful of ratings are
// folded into the model's factor space (no retraining), every movie is scored, filtered (already
// rated, years, genres, popularity floor) and the best N are returned with the rated movies that
// explain them. Also: movies similar to a given movie (cosine in factor space).
//
// A Recommender is built once per model and precomputes what every request needs (the Gram matrix
// for scikit-learn-style NMF fold-in, factor norms, per-movie year / rating count / genre masks).
// All request methods are const and keep no shared mutable state: any number of threads may call
// them on one Recommender at the same time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/dataset.hpp"
#include "cinefactor/model.hpp"

namespace cinefactor {

// One rating the visitor gave, by original MovieLens movie id.
struct VisitorRating {
  std::int64_t movie_id = 0;
  float rating = 0.0f;
};

enum class YearFilter {
  any,    // no year restriction (movies with unknown year stay in)
  older,  // year < boundary_year ("old")
  newer,  // year >= boundary_year ("new")
  range,  // year_from <= year <= year_to
};
// "any", "old", "new" (a range is not chosen by name: parse_years() or set_year_range()).
std::optional<YearFilter> parse_year_filter(std::string_view name) noexcept;
std::string_view year_filter_name(YearFilter filter) noexcept;  // "range" for a range

// Default popularity floor: movies with fewer ratings than this in the training data are not
// recommended (too little evidence for their factors). Chosen by measurement (README, "How good are
// the models"; `cinefactor evaluate --min-ratings`): on ml-latest-small it costs the ranking models
// (SVD, zero NMF) nothing in NDCG@10, lifts the masked NMF's NDCG@10 by a quarter (its best predicted
// ratings otherwise go to movies with one or two ratings), while 50 starts losing NDCG and coverage.
inline constexpr std::int32_t kDefaultMinRatings = 20;
inline constexpr std::int32_t kDefaultBoundaryYear = 2000;

struct Filters {
  YearFilter years = YearFilter::any;
  std::int32_t boundary_year = kDefaultBoundaryYear;  // for older / newer
  std::int32_t year_from = 0;                         // for range, inclusive
  std::int32_t year_to = 0;                           // for range, inclusive
  std::vector<std::string> genres_any;   // keep movies with at least one of these (empty: no restriction)
  std::vector<std::string> genres_none;  // drop movies with any of these
  std::int32_t min_ratings = kDefaultMinRatings;  // rating count in the training data
};

// The latest year a range may name; an open end of a range is 0 or this.
inline constexpr std::int32_t kMaxYear = 9999;

// The one grammar for release years a person types (the CLI's --years, the web API's `years` query
// parameter): "any", "old", "new", or an inclusive range FROM-TO with either end left out ("1980-1999",
// "-1979", "2005-"), years 0 to kMaxYear. Sets filters.years (and year_from / year_to for a range).
// Throws InvalidArgument: 'expected old, new, any or a range FROM-TO like 1980-1999, got "..."', or the
// message of set_year_range(); callers name their field or flag in front of it.
void parse_years(std::string_view text, Filters& filters);

// A range filter from `from` to `to` (inclusive; a missing end is open: 0 / kMaxYear). Throws
// InvalidArgument "the range FROM-TO is empty (from > to)" (recommend() checks ranges the same way).
void set_year_range(Filters& filters, std::optional<std::int32_t> from, std::optional<std::int32_t> to);

// Results name their movie three ways: its index in the model, its MovieLens id and its catalog entry
// (title, year, genres, rating count; null when the model has no catalog). The entry lives in the
// Recommender's model, so it stays valid as long as the Recommender does.

// How much one rated movie contributed to a recommendation.
struct Contribution {
  std::int32_t movie_index = 0;
  std::int64_t movie_id = 0;
  const CatalogMovie* movie = nullptr;
  float rating = 0.0f;        // the visitor's rating of it
  float contribution = 0.0f;  // SVD: exact additive term of the score; NMF: attribution weight
  float share = 0.0f;         // contribution / sum of |contribution| over all rated movies
};

struct Recommendation {
  std::int32_t movie_index = 0;
  std::int64_t movie_id = 0;
  const CatalogMovie* movie = nullptr;
  float score = 0.0f;  // predicted rating when the model predicts ratings, else the model's raw score
  std::int32_t rating_count = 0;
  std::vector<Contribution> because;  // the rated movies that contributed most, largest first
};

struct SimilarMovie {
  std::int32_t movie_index = 0;
  std::int64_t movie_id = 0;
  const CatalogMovie* movie = nullptr;
  float similarity = 0.0f;  // cosine in factor space, in [-1, 1]
  std::int32_t rating_count = 0;
};

// The visitor folded into the model: what a trained user's row would be.
struct FoldIn {
  std::vector<float> factors;  // rank() values (empty for rank-0 models)
  float bias = 0.0f;           // the visitor's user bias (models with user biases), else 0
  int iterations = 0;          // solver iterations / sweeps used (0 for closed forms)
  // Whether the visitor rated a movie the model had training ratings for; when not, the visitor is an
  // unseen user and every score takes the model's fallback (Model::unseen_shift).
  bool seen = false;
};

struct RecommendRequest {
  std::vector<VisitorRating> ratings;
  Filters filters;
  int top_n = 10;
  int explain = 3;  // contributions per recommendation (0: none)
};

struct RecommenderOptions {
  RatingScale scale;  // visitor ratings outside it are rejected (MovieLens: 0.5 .. 5)
  // Masked-NMF fold-in: coordinate-descent NNLS with exact solves on the active set.
  int nnls_max_sweeps = 2000;  // coordinate sweeps before giving up on the tolerance
  double nnls_tolerance =
      1e-7;  // stop when no coordinate moves more than this (relative to |x|max, at least 1)
  int nnls_sweeps_per_solve = 8;  // sweeps between attempts to finish with an exact solve on the free set
  // Zero-NMF fold-in (scikit-learn NMF.transform): iterations and tolerance; <= 0 / < 0 means "from the
  // model's hyperparameters max_iterations / tolerance, else scikit-learn's defaults 200 / 1e-4".
  int transform_max_iterations = 0;
  double transform_tolerance = -1.0;
};

class Recommender {
 public:
  explicit Recommender(std::shared_ptr<const Model> model, RecommenderOptions options = {});
  Recommender(const Recommender&) = delete;
  Recommender& operator=(const Recommender&) = delete;

  // The visitor's factor vector (+ bias) from their ratings. Throws InvalidArgument for unknown movie
  // ids (naming all of them), repeated ids, and ratings that are NaN or outside the scale: one message
  // naming every bad entry. This is the one check of a visitor's movie ids (the server and the CLI
  // leave it to the recommender).
  FoldIn fold_in(std::span<const VisitorRating> ratings) const;

  // Fold-in, score every movie, filter, top-N with explanations. Best first; ties broken by more
  // ratings, then lower movie id.
  std::vector<Recommendation> recommend(const RecommendRequest& request) const;

  // Movies most similar to `movie_id` by cosine of their factor vectors (SVD: weighted by the
  // singular values, i.e. rows of V*Sigma). The movie itself is excluded. Throws InvalidArgument for
  // models without factors and for unknown ids.
  std::vector<SimilarMovie> similar(std::int64_t movie_id, const Filters& filters, int top_n) const;

  // Every rated movie's contribution to the score of `movie_id` for this visitor, largest first (see
  // docs: exact additive terms for SVD, a rating-weighted cosine attribution for NMF, none for models
  // without factors). recommend() reports the first `explain` positive ones.
  std::vector<Contribution> contributions(std::span<const VisitorRating> ratings,
                                          std::int64_t movie_id) const;

 private:
  struct FilterMask;
  struct AlsSystem;  // implicit ALS: a visitor's k x k system (recommender_internal.hpp)
  AlsSystem als_system(std::span<const VisitorRating> ratings, std::span<const std::int32_t> rated) const;
  FilterMask compile_filters(const Filters& filters) const;
  bool passes(const FilterMask& mask, std::int32_t movie) const noexcept;
  // Movie indices of the ratings (same order); throws InvalidArgument naming every bad entry.
  std::vector<std::int32_t> resolve(std::span<const VisitorRating> ratings) const;
  // The index of one movie id; InvalidArgument with the unknown-id message otherwise.
  std::int32_t index_of(std::int64_t movie_id) const;
  // The catalog entry of a movie index (null when the model has no catalog).
  const CatalogMovie* entry(std::int32_t movie) const noexcept;
  FoldIn fold_in_resolved(std::span<const VisitorRating> ratings, std::span<const std::int32_t> rated) const;
  // Movies are scored in popularity order (most rated first), so the movies that clear a popularity
  // floor are a prefix: one matrix-vector product over the first `floor_prefix(min_ratings)` rows of
  // the reordered factors. Positions below index that order; by_count_[position] is the movie index.
  std::size_t floor_prefix(std::int32_t min_ratings) const;
  // out[i] = base + movie_bias + dot(query, factors) of the movie at position i, for i < prefix; with
  // `unseen_movies`, the movies without training ratings take the fallback (unseen_shift) instead of the
  // product (which is zero for them).
  void score_prefix(std::span<const float> query, float base, bool with_movie_bias, bool unseen_movies,
                    std::size_t prefix, std::span<float> out) const;
  // Leaves the positions of the best `top_n` movies among the first `prefix` positions that pass `mask`
  // and whose movie index is not in `exclude` (sorted) in `candidates`, best first.
  void select_top(std::span<const float> scores, std::size_t prefix, const FilterMask& mask,
                  std::span<const std::int32_t> exclude, int top_n,
                  std::vector<std::int32_t>& candidates) const;
  std::vector<Contribution> contributions_resolved(std::span<const VisitorRating> ratings,
                                                   std::span<const std::int32_t> rated,
                                                   std::int32_t movie) const;

  std::shared_ptr<const Model> model_;
  RecommenderOptions options_;

  enum class FoldKind { none, user_bias, masked_nnls, sklearn_transform, projection, implicit_als };
  FoldKind kind_ = FoldKind::none;
  double l2_user_ = 0.0;             // masked NMF
  double l2_bias_ = 0.0;             // masked NMF with biases, bias model
  double als_l2_ = 0.0;              // implicit ALS
  double als_confidence_ = 0.0;      // implicit ALS: 1 + alpha
  float positive_threshold_ = 0.0f;  // implicit ALS
  int transform_max_iterations_ = 0;
  double transform_tolerance_ = 0.0;
  std::vector<double> gram_;  // k x k H^T H over all movies (zero-NMF and ALS fold-in), row-major
  std::vector<float> similarity_weights_;  // per factor weight for cosine (SVD: sigma^2; else 1)
  std::vector<float> norms_;               // weighted norm of each movie's factor row
  std::vector<std::int32_t> years_;
  std::vector<std::int32_t> counts_;
  std::vector<std::int32_t> by_count_;       // position -> movie index, most rated first (ties: lower index)
  std::vector<std::int32_t> sorted_counts_;  // rating count by position (descending)
  std::vector<float> sorted_factors_;        // movie factors by position, row-major (a reordered copy)
  std::vector<float> sorted_bias_;           // movie biases by position, or empty
  std::vector<float> sorted_unseen_;         // by position: unseen_shift for unseen movies, else 0; or empty
  std::vector<float> sorted_norms_;          // norms_ by position
  std::vector<std::string> genre_names_;     // bit i of a mask = genre_names_[i]
  std::size_t genre_words_ = 0;              // 64-bit words per movie
  std::vector<std::uint64_t> genre_bits_;    // n_movies * genre_words_
};

}  // namespace cinefactor
