// Similar movies: cosine of factor rows (SVD: weighted by the singular values), through the same
// popularity-prefix scoring, filters and top-N as recommend().
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "cinefactor/error.hpp"
#include "cinefactor/recommender.hpp"
#include "recommend/recommender_internal.hpp"

namespace cinefactor {

std::vector<SimilarMovie> Recommender::similar(std::int64_t movie_id, const Filters& filters,
                                               int top_n) const {
  const Model& m = *model_;
  if (m.rank() == 0) {
    throw InvalidArgument(fmt::format("the {} model has no factors, so it cannot find similar movies",
                                      algorithm_name(m.algorithm)));
  }
  if (top_n <= 0) throw InvalidArgument(fmt::format("top_n must be positive, got {}", top_n));
  const auto query = index_of(movie_id);
  const auto q = static_cast<std::size_t>(query);
  if (!(norms_[q] > 0.0f)) {
    throw InvalidArgument(
        fmt::format("movie {} has an all-zero factor vector: the model knows nothing about it", movie_id));
  }
  const auto mask = compile_filters(filters);

  const auto n = static_cast<Eigen::Index>(m.n_movies());
  const auto k = static_cast<Eigen::Index>(m.rank());
  FoldIn probe;
  probe.factors.resize(static_cast<std::size_t>(k));
  const auto row = m.movie_factors.row(query);
  for (std::size_t f = 0; f < static_cast<std::size_t>(k); ++f) {
    probe.factors[f] = row[f] * similarity_weights_[f] / norms_[q];
  }
  Workspace& ws = thread_workspace();
  ws.scores.resize(static_cast<std::size_t>(n));
  const auto prefix = floor_prefix(mask.min_ratings);
  score_prefix(probe.factors, 0.0f, false, false, prefix, ws.scores);
  for (std::size_t i = 0; i < prefix; ++i) {
    const float norm = sorted_norms_[i];
    ws.scores[i] = norm > 0.0f ? std::clamp(ws.scores[i] / norm, -1.0f, 1.0f) : 0.0f;
  }
  const std::array<std::int32_t, 1> exclude{query};
  select_top(ws.scores, prefix, mask, exclude, top_n, ws.candidates);
  std::vector<SimilarMovie> out;
  for (const auto position : ws.candidates) {
    const auto j = by_count_[static_cast<std::size_t>(position)];
    const auto jj = static_cast<std::size_t>(j);
    out.push_back({j, m.movie_ids[jj], entry(j), ws.scores[static_cast<std::size_t>(position)], counts_[jj]});
  }
  return out;
}

}  // namespace cinefactor
