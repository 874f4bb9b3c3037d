// recommend(): fold-in, scoring over the popularity prefix (one matrix-vector product), filters and
// top-N with explanations; the scoring and top-N selection that similar() shares.
#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "cinefactor/error.hpp"
#include "cinefactor/recommender.hpp"
#include "recommend/recommender_internal.hpp"

namespace cinefactor {
namespace {

// Up to this many results, top-N keeps a sorted buffer while scanning (most movies are rejected by one
// comparison); beyond it, nth_element over all candidates.
constexpr std::size_t kBoundedSelectMax = 128;

}  // namespace

std::size_t Recommender::floor_prefix(std::int32_t min_ratings) const {
  return static_cast<std::size_t>(
      std::upper_bound(sorted_counts_.begin(), sorted_counts_.end(), min_ratings, std::greater<>()) -
      sorted_counts_.begin());
}

void Recommender::score_prefix(std::span<const float> query, float base, bool with_movie_bias,
                               bool unseen_movies, std::size_t prefix, std::span<float> out) const {
  const auto k = static_cast<Eigen::Index>(model_->rank());
  const auto p = static_cast<Eigen::Index>(prefix);
  Eigen::Map<Eigen::VectorXf> scores(out.data(), p);
  if (k > 0) {
    const Eigen::Map<const RowMatrixXf> H(sorted_factors_.data(), p, k);
    scores.noalias() = H * Eigen::Map<const Eigen::VectorXf>(query.data(), k);
    scores.array() += base;
  } else {
    scores.setConstant(base);
  }
  if (with_movie_bias && !sorted_bias_.empty())
    scores += Eigen::Map<const Eigen::VectorXf>(sorted_bias_.data(), p);
  if (unseen_movies && !sorted_unseen_.empty())
    scores += Eigen::Map<const Eigen::VectorXf>(sorted_unseen_.data(), p);
}

void Recommender::select_top(std::span<const float> scores, std::size_t prefix, const FilterMask& mask,
                             std::span<const std::int32_t> exclude, int top_n,
                             std::vector<std::int32_t>& candidates) const {
  const Model& m = *model_;
  // Higher score, then more ratings, then lower movie id: a total order, so results are reproducible.
  auto better = [&](std::int32_t a, std::int32_t b) {
    const auto pa = static_cast<std::size_t>(a);
    const auto pb = static_cast<std::size_t>(b);
    if (scores[pa] != scores[pb]) return scores[pa] > scores[pb];
    if (sorted_counts_[pa] != sorted_counts_[pb]) return sorted_counts_[pa] > sorted_counts_[pb];
    return m.movie_ids[static_cast<std::size_t>(by_count_[pa])] <
           m.movie_ids[static_cast<std::size_t>(by_count_[pb])];
  };
  const auto wanted = static_cast<std::size_t>(top_n);
  const bool bounded = wanted <= kBoundedSelectMax;
  candidates.clear();
  for (std::size_t position = 0; position < prefix; ++position) {
    const auto i = static_cast<std::int32_t>(position);
    // Bounded selection: the N best so far stay sorted; most movies lose to the current N-th on the
    // score alone, before any filter is looked at.
    if (bounded && candidates.size() == wanted &&
        scores[position] < scores[static_cast<std::size_t>(candidates.back())]) {
      continue;
    }
    const auto movie = by_count_[position];
    if (std::binary_search(exclude.begin(), exclude.end(), movie) || !passes(mask, movie)) continue;
    if (!bounded) {
      candidates.push_back(i);
      continue;
    }
    if (candidates.size() == wanted) {
      if (!better(i, candidates.back())) continue;
      candidates.pop_back();
    }
    candidates.insert(std::upper_bound(candidates.begin(), candidates.end(), i, better), i);
  }
  if (bounded) return;
  // Large N: partial selection over all candidates, then sort the selected.
  const auto n = std::min(candidates.size(), wanted);
  const auto middle = candidates.begin() + static_cast<std::ptrdiff_t>(n);
  if (n < candidates.size()) std::nth_element(candidates.begin(), middle, candidates.end(), better);
  candidates.resize(n);
  std::sort(candidates.begin(), candidates.end(), better);
}

std::vector<Recommendation> Recommender::recommend(const RecommendRequest& request) const {
  const Model& m = *model_;
  if (request.top_n <= 0) throw InvalidArgument(fmt::format("top_n must be positive, got {}", request.top_n));
  if (request.explain < 0)
    throw InvalidArgument(fmt::format("explain must be >= 0, got {}", request.explain));
  const auto rated = resolve(request.ratings);
  const auto mask = compile_filters(request.filters);
  const FoldIn user = fold_in_resolved(request.ratings, rated);

  Workspace& ws = thread_workspace();
  ws.scores.resize(static_cast<std::size_t>(m.n_movies()));
  const auto prefix = floor_prefix(mask.min_ratings);
  // The fallback (Model::unseen_shift): on every movie for a visitor the model has not seen, else on the
  // movies without training ratings.
  const float base = m.global_offset + user.bias + (user.seen ? 0.0f : m.unseen_shift());
  score_prefix(user.factors, base, true, user.seen, prefix, ws.scores);
  std::vector<std::int32_t> exclude(rated.begin(), rated.end());
  std::sort(exclude.begin(), exclude.end());
  select_top(ws.scores, prefix, mask, exclude, request.top_n, ws.candidates);

  std::vector<Recommendation> out;
  out.reserve(ws.candidates.size());
  for (const auto position : ws.candidates) {
    const auto j = by_count_[static_cast<std::size_t>(position)];
    const auto jj = static_cast<std::size_t>(j);
    Recommendation rec{
        j, m.movie_ids[jj], entry(j), ws.scores[static_cast<std::size_t>(position)], counts_[jj], {}};
    if (request.explain > 0) {
      for (const auto& c : contributions_resolved(request.ratings, rated, j)) {
        if (static_cast<int>(rec.because.size()) == request.explain || !(c.contribution > 0.0f)) break;
        rec.because.push_back(c);
      }
    }
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace cinefactor
