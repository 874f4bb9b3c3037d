// Model: prediction and scoring, id lookups, the algorithm and objective names, the catalog and the
// data fingerprint (see model.hpp).
#include "cinefactor/model.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include "cinefactor/dataset.hpp"
#include "cinefactor/error.hpp"
#include "core/enum_names.hpp"
#include "engine/model_record.hpp"

namespace cinefactor {
namespace {

constexpr EnumNames<Algorithm, 6> kAlgorithmNames{"mean", "bias", "popularity", "nmf", "svd", "als"};
constexpr EnumNames<NmfObjective, 2> kObjectiveNames{"masked", "zero"};
constexpr EnumNames<NmfInit, 2> kInitNames{"random", "nndsvda"};

float dot(std::span<const float> a, std::span<const float> b) {
  float s = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

std::optional<std::int32_t> find(const std::vector<std::int64_t>& ids, std::int64_t id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return std::nullopt;
  return static_cast<std::int32_t>(it - ids.begin());
}

}  // namespace

CINEFACTOR_ENUM_NAME_FUNCTIONS(Algorithm, algorithm, kAlgorithmNames)

CINEFACTOR_ENUM_NAME_FUNCTIONS(NmfObjective, objective, kObjectiveNames)
CINEFACTOR_ENUM_NAME_FUNCTIONS(NmfInit, init, kInitNames)

bool Model::predicts_ratings() const noexcept {
  switch (algorithm) {
    case Algorithm::mean:
    case Algorithm::bias:
      return true;
    case Algorithm::nmf:
      return objective == NmfObjective::masked;
    case Algorithm::svd:
      return global_offset != 0.0f;  // centered SVD predicts mean + deviation
    case Algorithm::popularity:
    case Algorithm::als:
      return false;
  }
  return false;
}

float Model::unseen_shift() const noexcept {
  if (!training_mean || !predicts_ratings()) return 0.0f;
  return *training_mean - global_offset;
}

bool Model::unseen_user(std::int32_t user) const noexcept {
  const auto u = static_cast<std::size_t>(user);
  return u < user_rating_counts.size() && user_rating_counts[u] == 0;
}

bool Model::unseen_movie(std::int32_t movie) const noexcept {
  const auto j = static_cast<std::size_t>(movie);
  return j < movie_rating_counts.size() && movie_rating_counts[j] == 0;
}

float Model::predict(std::int32_t user, std::int32_t movie) const {
  float s = global_offset;
  if (!user_bias.empty()) s += user_bias[static_cast<std::size_t>(user)];
  if (!movie_bias.empty()) s += movie_bias[static_cast<std::size_t>(movie)];
  if (unseen_user(user) || unseen_movie(movie)) return s + unseen_shift();
  if (rank() > 0) s += dot(user_factors.row(user), movie_factors.row(movie));
  return s;
}

void Model::score_user(std::int32_t user, std::span<float> out) const {
  score_vector(rank() > 0 ? user_factors.row(user) : std::span<const float>{},
               user_bias.empty() ? 0.0f : user_bias[static_cast<std::size_t>(user)], out, !unseen_user(user));
}

void Model::score_vector(std::span<const float> factors, float bias, std::span<float> out, bool seen) const {
  if (out.size() != static_cast<std::size_t>(n_movies()))
    throw InvalidArgument("score buffer has the wrong size");
  if (factors.size() != static_cast<std::size_t>(rank()))
    throw InvalidArgument("user vector has the wrong rank");
  const float base = global_offset + bias;
  const float shift = unseen_shift();
  for (std::int32_t j = 0; j < n_movies(); ++j) {
    float s = base;
    if (!movie_bias.empty()) s += movie_bias[static_cast<std::size_t>(j)];
    if (!seen || unseen_movie(j)) {
      s += shift;
    } else if (rank() > 0) {
      s += dot(factors, movie_factors.row(j));
    }
    out[static_cast<std::size_t>(j)] = s;
  }
}

std::optional<std::int32_t> Model::movie_index(std::int64_t movie_id) const {
  return find(movie_ids, movie_id);
}
std::optional<std::int32_t> Model::user_index(std::int64_t user_id) const {
  return find(user_ids, user_id);
}

void attach_catalog(Model& model, const Dataset& dataset) {
  const auto& r = dataset.ratings;
  if (r.n_movies() != model.n_movies() ||
      !std::equal(r.movie_ids().begin(), r.movie_ids().end(), model.movie_ids.begin())) {
    throw InvalidArgument("the dataset's movies do not match the model's");
  }
  model.catalog.clear();
  model.catalog.reserve(static_cast<std::size_t>(model.n_movies()));
  for (std::int32_t j = 0; j < model.n_movies(); ++j) {
    model.catalog.push_back(
        {dataset.column_movie(j), r.movie_count(j), r.movie_means()[static_cast<std::size_t>(j)]});
  }
}

namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

void fnv_mix(std::uint64_t& h, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
}

}  // namespace

std::uint64_t row_fingerprint(const SparseMatrix& csr, std::int32_t row) {
  std::uint64_t h = kFnvOffset;
  const std::int64_t count = csr.row_nnz(row);
  const auto begin = static_cast<std::size_t>(csr.row_begin(row));
  fnv_mix(h, &count, sizeof count);
  fnv_mix(h, csr.indices.data() + begin, static_cast<std::size_t>(count) * sizeof(std::int32_t));
  fnv_mix(h, csr.values.data() + begin, static_cast<std::size_t>(count) * sizeof(float));
  return h;
}

std::uint64_t combine_fingerprint(std::span<const std::int64_t> user_ids,
                                  std::span<const std::int64_t> movie_ids,
                                  std::span<const std::uint64_t> row_fingerprints) {
  std::uint64_t h = kFnvOffset;
  fnv_mix(h, user_ids.data(), user_ids.size_bytes());
  fnv_mix(h, movie_ids.data(), movie_ids.size_bytes());
  fnv_mix(h, row_fingerprints.data(), row_fingerprints.size_bytes());
  return h;
}

std::uint64_t fingerprint(const RatingMatrix& ratings) {
  // FNV-1a over the id maps and one FNV-1a per user row (its length, movies and values): cheap, stable across
  // platforms of one endianness, and computable by the ranks of a distributed load from their own rows.
  std::vector<std::uint64_t> rows(static_cast<std::size_t>(ratings.n_users()));
  for (std::int32_t u = 0; u < ratings.n_users(); ++u)
    rows[static_cast<std::size_t>(u)] = row_fingerprint(ratings.by_user(), u);
  return combine_fingerprint(ratings.user_ids(), ratings.movie_ids(), rows);
}

}  // namespace cinefactor
