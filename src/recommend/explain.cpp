// Explanations: how much each rated movie contributed to a recommendation. SVD scores decompose
// exactly over the rated movies, and so do implicit-ALS scores (over the positive ratings); NMF gets an
// attribution (rating times the cosine of the factor rows) over the movies rated at or above the visitor's
// mean; models without factors explain nothing.
#include <algorithm>
#include <cmath>

#include "cinefactor/recommender.hpp"
#include "recommend/recommender_internal.hpp"

namespace cinefactor {

std::vector<Contribution> Recommender::contributions(std::span<const VisitorRating> ratings,
                                                     std::int64_t movie_id) const {
  const auto rated = resolve(ratings);
  return contributions_resolved(ratings, rated, index_of(movie_id));
}

std::vector<Contribution> Recommender::contributions_resolved(std::span<const VisitorRating> ratings,
                                                              std::span<const std::int32_t> rated,
                                                              std::int32_t movie) const {
  const Model& m = *model_;
  std::vector<Contribution> out;
  const auto k = static_cast<std::size_t>(m.rank());
  if (k == 0 || ratings.empty()) return out;
  const auto target = m.movie_factors.row(movie);
  auto dot = [&](std::span<const float> a) {
    double s = 0.0;
    for (std::size_t f = 0; f < k; ++f) s += static_cast<double>(a[f]) * target[f];
    return s;
  };
  if (kind_ == FoldKind::projection) {
    // score_j = offset + b_j + sum_i y_i (v_i . v_j): each rated movie's term, exactly.
    for (std::size_t i = 0; i < ratings.size(); ++i) {
      const auto j = static_cast<std::size_t>(rated[i]);
      double y = static_cast<double>(ratings[i].rating) - m.global_offset;
      if (!m.movie_bias.empty()) y -= m.movie_bias[j];
      out.push_back({rated[i], m.movie_ids[j], entry(rated[i]), ratings[i].rating,
                     static_cast<float>(y * dot(m.movie_factors.row(rated[i]))), 0.0f});
    }
  } else if (kind_ == FoldKind::implicit_als) {
    // score_j = y_j^T A^-1 sum_i c y_i (Hu, Koren, Volinsky 2008, section 5): each positive rating's term
    // c (y_j^T A^-1 y_i), exactly.
    const AlsSystem system = als_system(ratings, rated);
    const auto kk = static_cast<Eigen::Index>(k);
    const Eigen::VectorXd z =
        system.a.solve(Eigen::Map<const Eigen::VectorXf>(target.data(), kk).cast<double>());
    for (std::size_t i = 0; i < ratings.size(); ++i) {
      if (!system.positive[i]) continue;
      const auto j = static_cast<std::size_t>(rated[i]);
      const Eigen::VectorXd y =
          Eigen::Map<const Eigen::VectorXf>(m.movie_factors.row(rated[i]).data(), kk).cast<double>();
      out.push_back({rated[i], m.movie_ids[j], entry(rated[i]), ratings[i].rating,
                     static_cast<float>(als_confidence_ * z.dot(y)), 0.0f});
    }
  } else if (kind_ == FoldKind::masked_nnls || kind_ == FoldKind::sklearn_transform) {
    // NMF has no additive decomposition of the score over rated movies; attribute it by the
    // visitor's rating times the cosine between the rated and the recommended movie's factors, over
    // the movies the visitor rated at or above their own mean rating.
    double mean = 0.0;
    for (const auto& r : ratings) mean += r.rating;
    mean /= static_cast<double>(ratings.size());
    const double target_norm = norms_[static_cast<std::size_t>(movie)];
    for (std::size_t i = 0; i < ratings.size(); ++i) {
      if (ratings[i].rating < mean) continue;
      const auto j = static_cast<std::size_t>(rated[i]);
      const double norm = static_cast<double>(norms_[j]) * target_norm;
      const double cosine = norm > 0.0 ? dot(m.movie_factors.row(rated[i])) / norm : 0.0;
      out.push_back({rated[i], m.movie_ids[j], entry(rated[i]), ratings[i].rating,
                     static_cast<float>(ratings[i].rating * cosine), 0.0f});
    }
  }
  double total = 0.0;
  for (const auto& c : out) total += std::abs(static_cast<double>(c.contribution));
  for (auto& c : out) c.share = total > 0.0 ? static_cast<float>(c.contribution / total) : 0.0f;
  std::sort(out.begin(), out.end(), [](const Contribution& a, const Contribution& b) {
    if (a.contribution != b.contribution) return a.contribution > b.contribution;
    return a.movie_id < b.movie_id;
  });
  return out;
}

}  // namespace cinefactor
