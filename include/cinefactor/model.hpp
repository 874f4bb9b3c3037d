// A trained model: factors, biases, id maps and the movie catalog. Every algorithm produces the
// same structure, so scoring, fold-in, evaluation, the model file and the server treat them alike:
//   prediction(u, j) = global_offset + user_bias[u] + movie_bias[j] + dot(user_factors[u], movie_factors[j])
// where terms an algorithm does not use are empty (bias vectors) or zero. A model that predicts ratings
// and knows its training counts predicts a user or movie without training ratings by the training mean plus
// whatever biases exist (Surprise's rule; see Model::unseen_shift).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/movie.hpp"

namespace cinefactor {

class RatingMatrix;
struct Dataset;

enum class Algorithm : std::uint32_t {
  mean = 0,        // global mean rating
  bias = 1,        // regularized global + user + movie biases
  popularity = 2,  // most-rated first (a ranking, not a rating predictor)
  nmf = 3,         // non-negative matrix factorization by multiplicative updates
  svd = 4,         // randomized truncated SVD
  als = 5,         // implicit-feedback alternating least squares (a ranking, not a rating predictor)
};
std::string_view algorithm_name(Algorithm algorithm) noexcept;
std::optional<Algorithm> parse_algorithm(std::string_view name) noexcept;
std::vector<std::string> algorithm_names();  // every name, in enum order

enum class NmfObjective : std::uint32_t {
  masked = 0,  // only observed ratings count (rating prediction; L2 and optional biases)
  zero = 1,    // unrated = 0, as scikit-learn's NMF on a sparse matrix (top-N ranking)
};
std::string_view objective_name(NmfObjective objective) noexcept;
std::optional<NmfObjective> parse_objective(std::string_view name) noexcept;
std::vector<std::string> objective_names();

enum class NmfInit { random, nndsvda };
std::string_view init_name(NmfInit init) noexcept;  // "random", "nndsvda"
std::optional<NmfInit> parse_init(std::string_view name) noexcept;
std::vector<std::string> init_names();

// What a model was trained with. An algorithm sets the fields it uses and leaves the others empty; the
// model file stores them as one JSON object of these names (docs/model-format.md), and train / evaluate
// --json print the same object.
struct Hyperparameters {
  std::optional<std::int32_t> rank;
  std::optional<NmfObjective> objective;
  std::optional<NmfInit> init;
  std::optional<std::int32_t> max_iterations;
  std::optional<double> tolerance;
  std::optional<std::uint64_t> seed;
  std::optional<std::int32_t> oversamples;
  std::optional<std::int32_t> power_iterations;
  std::optional<bool> center;
  std::optional<float> l2_user;
  std::optional<float> l2_movie;
  std::optional<bool> biases;
  std::optional<float> l2_bias;
  std::optional<float> alpha;
  std::optional<float> als_l2;
  std::optional<float> positive_threshold;
  std::optional<std::int32_t> cg_steps;
  std::optional<std::int32_t> iterations_run;
  bool operator==(const Hyperparameters&) const = default;
};
nlohmann::json to_json(const Hyperparameters& hyperparameters);
// Throws FormatError naming the key for an unknown key or a value of the wrong type or range.
Hyperparameters hyperparameters_from_json(const nlohmann::json& object);

// Row-major float32 matrix.
struct DenseMatrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<float> data;

  DenseMatrix() = default;
  DenseMatrix(std::int64_t r, std::int64_t c, float fill = 0.0f)
      : rows(r), cols(c), data(static_cast<std::size_t>(r * c), fill) {}
  std::span<float> row(std::int64_t r) { return {data.data() + r * cols, static_cast<std::size_t>(cols)}; }
  std::span<const float> row(std::int64_t r) const {
    return {data.data() + r * cols, static_cast<std::size_t>(cols)};
  }
  float& operator()(std::int64_t r, std::int64_t c) { return data[static_cast<std::size_t>(r * cols + c)]; }
  float operator()(std::int64_t r, std::int64_t c) const {
    return data[static_cast<std::size_t>(r * cols + c)];
  }
};

// What the server needs to show a movie, carried inside the model file.
struct CatalogMovie {
  Movie movie;
  std::int32_t rating_count = 0;
  float rating_mean = 0.0f;
};

struct Model {
  Algorithm algorithm = Algorithm::mean;
  NmfObjective objective = NmfObjective::zero;  // meaningful for nmf only
  Hyperparameters hyperparameters;

  DenseMatrix user_factors;            // n_users x k (NMF: W; SVD: U * Sigma; ALS: X)
  DenseMatrix movie_factors;           // n_movies x k (NMF: H transposed; SVD: V; ALS: Y)
  std::vector<float> singular_values;  // SVD only, descending
  float global_offset = 0.0f;
  std::vector<float> user_bias;   // n_users, or empty
  std::vector<float> movie_bias;  // n_movies, or empty

  std::vector<std::int64_t> user_ids;   // dense user index -> original id
  std::vector<std::int64_t> movie_ids;  // dense movie index -> original id
  std::vector<CatalogMovie> catalog;    // aligned with movie_ids; empty until attach_catalog()
  std::uint64_t data_fingerprint = 0;   // of the training ratings

  // What the fallback for unseen users and movies needs, set by train(): the mean of the training ratings
  // and each user's and movie's number of training ratings. All empty when unknown (model files written
  // before they were stored); such a model has no fallback.
  std::optional<float> training_mean;
  std::vector<std::int32_t> user_rating_counts;   // n_users, or empty
  std::vector<std::int32_t> movie_rating_counts;  // n_movies, or empty

  std::int32_t rank() const noexcept { return static_cast<std::int32_t>(movie_factors.cols); }
  std::int32_t n_users() const noexcept { return static_cast<std::int32_t>(user_ids.size()); }
  std::int32_t n_movies() const noexcept { return static_cast<std::int32_t>(movie_ids.size()); }
  // True when predictions are on the rating scale (RMSE/MAE make sense).
  bool predicts_ratings() const noexcept;

  // The fallback, one rule for every path that predicts (evaluation, recommend, fold-in): the prediction
  // for a user or a movie without training ratings is the training mean plus whatever biases exist, i.e.
  // the usual offset and bias terms plus unseen_shift() in place of the factor product. unseen_shift() is
  // training_mean - global_offset for a model that predicts ratings and knows its training counts, else 0
  // (a ranking model's scores are not ratings; older files). It is non-zero only for the masked NMF without
  // biases, whose offset is 0; its unseen factor rows are exactly zero (no observed entry to update from).
  float unseen_shift() const noexcept;
  bool unseen_user(std::int32_t user) const noexcept;    // false when the counts are unknown
  bool unseen_movie(std::int32_t movie) const noexcept;  // false when the counts are unknown

  float predict(std::int32_t user, std::int32_t movie) const;
  // Scores of every movie for a trained user, as predict(); out.size() == n_movies().
  void score_user(std::int32_t user, std::span<float> out) const;
  // Scores of every movie for an arbitrary user vector (factors of length rank(), plus a bias), a user with
  // training ratings (`seen`, a folded-in visitor who rated a movie the model saw) or without.
  void score_vector(std::span<const float> factors, float user_bias, std::span<float> out,
                    bool seen = true) const;

  std::optional<std::int32_t> movie_index(std::int64_t movie_id) const;
  std::optional<std::int32_t> user_index(std::int64_t user_id) const;
};

// Fills model.catalog from the dataset's movies and rating statistics (columns must match).
void attach_catalog(Model& model, const Dataset& dataset);

// A 64-bit fingerprint of a rating matrix (ids, structure and values).
std::uint64_t fingerprint(const RatingMatrix& ratings);

}  // namespace cinefactor
