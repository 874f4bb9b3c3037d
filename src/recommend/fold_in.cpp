// Fold-in: a visitor's ratings become what a trained user's row would be (factors + bias), per model
// kind: the user bias in closed form (bias), a projection (SVD), NNLS on the training objective (masked
// NMF, recommend/nnls.hpp), scikit-learn's NMF.transform (zero NMF) or one exact k x k solve of the
// training objective (implicit ALS). docs/recommender.md has the maths.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cinefactor/recommender.hpp"
#include "recommend/nnls.hpp"
#include "recommend/recommender_internal.hpp"

namespace cinefactor {
namespace {

// scikit-learn's multiplicative updates check convergence every this many iterations.
constexpr int kSklearnCheckEvery = 10;
// scikit-learn replaces zero denominators by float32 epsilon (EPSILON in sklearn/decomposition/_nmf.py).
constexpr double kSklearnEpsilon = static_cast<double>(std::numeric_limits<float>::epsilon());

}  // namespace

Recommender::AlsSystem Recommender::als_system(std::span<const VisitorRating> ratings,
                                               std::span<const std::int32_t> rated) const {
  const Model& m = *model_;
  const auto k = static_cast<Eigen::Index>(m.rank());
  Eigen::MatrixXd a = Eigen::Map<const RowMatrixXd>(gram_.data(), k, k);
  a.diagonal().array() += als_l2_;
  AlsSystem system;
  system.b = Eigen::VectorXd::Zero(k);
  system.positive.assign(ratings.size(), false);
  for (std::size_t i = 0; i < ratings.size(); ++i) {
    if (ratings[i].rating < positive_threshold_) continue;
    const Eigen::VectorXd y =
        Eigen::Map<const Eigen::VectorXf>(m.movie_factors.row(rated[i]).data(), k).cast<double>();
    a.selfadjointView<Eigen::Lower>().rankUpdate(y, als_confidence_ - 1.0);
    system.b += als_confidence_ * y;
    system.positive[i] = true;
    system.any = true;
  }
  system.a.compute(a.selfadjointView<Eigen::Lower>());
  return system;
}

FoldIn Recommender::fold_in(std::span<const VisitorRating> ratings) const {
  return fold_in_resolved(ratings, resolve(ratings));
}

FoldIn Recommender::fold_in_resolved(std::span<const VisitorRating> ratings,
                                     std::span<const std::int32_t> rated) const {
  const Model& m = *model_;
  const auto k = static_cast<Eigen::Index>(m.rank());
  const auto n = static_cast<Eigen::Index>(ratings.size());
  FoldIn out;
  out.factors.assign(static_cast<std::size_t>(k), 0.0f);
  // A visitor is a user the model has seen when one rated movie had training ratings; one who rated only
  // unseen movies (zero factor rows) folds in to zero factors and takes the fallback, as a cold start.
  out.seen = std::any_of(rated.begin(), rated.end(), [&m](std::int32_t j) { return !m.unseen_movie(j); });
  if (n == 0 || kind_ == FoldKind::none)
    return out;  // cold start: the model's prior (offset, movie biases and the fallback)

  // The rating residual each model explains with the visitor's own parameters.
  auto residual = [&](Eigen::Index i) {
    const auto j = static_cast<std::size_t>(rated[static_cast<std::size_t>(i)]);
    double y = static_cast<double>(ratings[static_cast<std::size_t>(i)].rating) - m.global_offset;
    if (!m.movie_bias.empty()) y -= m.movie_bias[j];
    return y;
  };
  auto factor_row = [&](Eigen::Index i) {
    return Eigen::Map<const Eigen::VectorXf>(m.movie_factors.row(rated[static_cast<std::size_t>(i)]).data(),
                                             k)
        .cast<double>();
  };

  switch (kind_) {
    case FoldKind::none:
      break;
    case FoldKind::user_bias: {
      // min sum (y_i - b)^2 + l2_bias*b^2, the objective training uses for each user's bias.
      double sum = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) sum += residual(i);
      out.bias = static_cast<float>(sum / (static_cast<double>(n) + l2_bias_));
      break;
    }
    case FoldKind::projection: {
      // u = sum_i y_i v_i: the visitor's row of the (centered) rating matrix times V, as A V = U Sigma.
      Eigen::VectorXd u = Eigen::VectorXd::Zero(k);
      for (Eigen::Index i = 0; i < n; ++i) u += residual(i) * factor_row(i);
      for (Eigen::Index f = 0; f < k; ++f)
        out.factors[static_cast<std::size_t>(f)] = static_cast<float>(u[f]);
      break;
    }
    case FoldKind::masked_nnls: {
      // min sum_i (y_i - b - w.h_i)^2 + n*l2_user*|w|^2 + l2_bias*b^2, w >= 0 (b only when the model
      // has user biases): the training objective restricted to one user with the movie side fixed.
      const bool with_bias = !m.user_bias.empty();
      const Eigen::Index d = k + (with_bias ? 1 : 0);
      Eigen::MatrixXd G = Eigen::MatrixXd::Zero(d, d);
      Eigen::VectorXd c = Eigen::VectorXd::Zero(d);
      Eigen::VectorXd a(d);
      for (Eigen::Index i = 0; i < n; ++i) {
        a.head(k) = factor_row(i);
        if (with_bias) a[k] = 1.0;
        G.selfadjointView<Eigen::Lower>().rankUpdate(a);
        c += residual(i) * a;
      }
      G.triangularView<Eigen::StrictlyUpper>() = G.transpose();
      const double nd = static_cast<double>(n);
      for (Eigen::Index f = 0; f < k; ++f) G(f, f) += nd * l2_user_;
      if (with_bias) G(k, k) += l2_bias_;
      const NnlsOptions nnls{options_.nnls_max_sweeps, options_.nnls_tolerance,
                             options_.nnls_sweeps_per_solve};
      const auto solution = solve_nonneg_qp(G, c, k, nnls);
      for (Eigen::Index f = 0; f < k; ++f)
        out.factors[static_cast<std::size_t>(f)] = static_cast<float>(solution.x[f]);
      if (with_bias) out.bias = static_cast<float>(solution.x[k]);
      out.iterations = solution.sweeps;
      break;
    }
    case FoldKind::implicit_als: {
      // The user's row of the training objective solved exactly with the movie side fixed. Without a
      // positive rating the solution is 0: every movie scores 0.
      const AlsSystem system = als_system(ratings, rated);
      if (!system.any) break;
      const Eigen::VectorXd x = system.a.solve(system.b);
      for (Eigen::Index f = 0; f < k; ++f)
        out.factors[static_cast<std::size_t>(f)] = static_cast<float>(x[f]);
      break;
    }
    case FoldKind::sklearn_transform: {
      // scikit-learn NMF.transform (solver "mu", Frobenius loss, no regularization) for one row X:
      // W starts at sqrt(mean(X) / k) and is updated W *= (X H^T) / (W H H^T) with H fixed. X H^T
      // touches only the rated movies; H H^T is the precomputed Gram matrix.
      const Eigen::Map<const RowMatrixXd> gram(gram_.data(), k, k);
      Eigen::VectorXd xht = Eigen::VectorXd::Zero(k);
      double norm_x = 0.0;
      double sum_x = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) {
        const double r = ratings[static_cast<std::size_t>(i)].rating;
        xht += r * factor_row(i);
        norm_x += r * r;
        sum_x += r;
      }
      const double mean_x = sum_x / static_cast<double>(m.n_movies());
      Eigen::VectorXd w = Eigen::VectorXd::Constant(k, std::sqrt(mean_x / static_cast<double>(k)));
      auto error = [&](const Eigen::VectorXd& v) {
        // sqrt(2 * (|X|^2 + |WH|^2 - 2 <X, WH>) / 2), as scikit-learn's _beta_divergence(square_root=True).
        const double res = (norm_x + v.dot(gram * v) - 2.0 * v.dot(xht)) / 2.0;
        return std::sqrt(std::max(res, 0.0) * 2.0);
      };
      const double error_at_init = error(w);
      double previous_error = error_at_init;
      Eigen::VectorXd denominator(k);
      int iteration = 1;
      for (; iteration <= transform_max_iterations_; ++iteration) {
        denominator.noalias() = gram * w;
        for (Eigen::Index f = 0; f < k; ++f) {
          if (denominator[f] == 0.0) denominator[f] = kSklearnEpsilon;
        }
        w.array() *= xht.array() / denominator.array();
        if (transform_tolerance_ > 0.0 && iteration % kSklearnCheckEvery == 0) {
          const double err = error(w);
          if (error_at_init == 0.0 || (previous_error - err) / error_at_init < transform_tolerance_) break;
          previous_error = err;
        }
      }
      out.iterations = std::min(iteration, transform_max_iterations_);
      for (Eigen::Index f = 0; f < k; ++f)
        out.factors[static_cast<std::size_t>(f)] = static_cast<float>(w[f]);
      break;
    }
  }
  return out;
}

}  // namespace cinefactor
