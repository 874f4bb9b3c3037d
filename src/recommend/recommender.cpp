#include "cinefactor/recommender.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>

#include "cinefactor/error.hpp"
#include "cinefactor/train.hpp"

namespace cinefactor {
namespace {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// scikit-learn's NMF defaults, used when the model's hyperparameters do not say.
constexpr int kSklearnMaxIter = 200;
constexpr double kSklearnTol = 1e-4;
// scikit-learn's multiplicative updates check convergence every this many iterations.
constexpr int kSklearnCheckEvery = 10;
// scikit-learn replaces zero denominators by float32 epsilon (EPSILON in sklearn/decomposition/_nmf.py).
constexpr double kSklearnEpsilon = static_cast<double>(std::numeric_limits<float>::epsilon());
// Relative slack on the KKT conditions when accepting an exact solve on the free set.
constexpr double kKktSlack = 1e-10;
// Up to this many results, top-N keeps a sorted buffer while scanning (most movies are rejected by one
// comparison); beyond it, nth_element over all candidates.
constexpr std::size_t kBoundedSelectMax = 128;
// How many offending entries an error message lists before summarizing.
constexpr std::size_t kMaxListed = 20;

constexpr std::array<std::string_view, 4> kYearFilterNames{"any", "old", "new", "range"};

double hyperparameter(const nlohmann::json& hp, const char* key, double fallback) {
  if (!hp.is_object() || !hp.contains(key)) return fallback;
  const auto& v = hp.at(key);
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (!v.is_number())
    throw InvalidArgument(fmt::format("model hyperparameter '{}' is not a number: {}", key, v.dump()));
  return v.get<double>();
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

template <typename T>
std::string join_listed(const std::vector<T>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < kMaxListed; ++i)
    out += (i ? ", " : "") + fmt::format("{}", items[i]);
  if (items.size() > kMaxListed) out += fmt::format(" and {} more", items.size() - kMaxListed);
  return out;
}

// Minimizes 0.5 x'Gx - c'x subject to x[i] >= 0 for i < nonneg (the rest free), G symmetric positive
// semi-definite. Coordinate descent keeps the gradient up to date in O(d) per move; every few sweeps
// it tries to finish exactly: solve the unconstrained problem on the current free set and accept it
// when it is feasible and satisfies the KKT conditions on the fixed set.
struct QpResult {
  Eigen::VectorXd x;
  int sweeps = 0;
};

QpResult solve_nonneg_qp(const Eigen::MatrixXd& G, const Eigen::VectorXd& c, Eigen::Index nonneg,
                         const RecommenderOptions& options) {
  const Eigen::Index d = c.size();
  QpResult r;
  r.x = Eigen::VectorXd::Zero(d);
  if (d == 0) return r;
  Eigen::VectorXd grad = -c;
  const double kkt_tol = kKktSlack * std::max(1.0, c.cwiseAbs().maxCoeff() + G.cwiseAbs().maxCoeff());

  auto try_exact = [&]() -> bool {
    std::vector<Eigen::Index> free;
    for (Eigen::Index i = 0; i < d; ++i) {
      if (i >= nonneg || r.x[i] > 0.0) free.push_back(i);
    }
    Eigen::VectorXd z = Eigen::VectorXd::Zero(d);
    if (!free.empty()) {
      const auto f = static_cast<Eigen::Index>(free.size());
      Eigen::MatrixXd Gf(f, f);
      Eigen::VectorXd cf(f);
      for (Eigen::Index a = 0; a < f; ++a) {
        cf[a] = c[free[static_cast<std::size_t>(a)]];
        for (Eigen::Index b = 0; b < f; ++b)
          Gf(a, b) = G(free[static_cast<std::size_t>(a)], free[static_cast<std::size_t>(b)]);
      }
      Eigen::LLT<Eigen::MatrixXd> llt(Gf);
      if (llt.info() != Eigen::Success) return false;
      const Eigen::VectorXd zf = llt.solve(cf);
      for (Eigen::Index a = 0; a < f; ++a) {
        const auto i = free[static_cast<std::size_t>(a)];
        if (i < nonneg && !(zf[a] >= 0.0)) return false;
        z[i] = zf[a];
      }
    }
    const Eigen::VectorXd g = G * z - c;
    for (Eigen::Index i = 0; i < nonneg; ++i) {
      if (z[i] == 0.0 && g[i] < -kkt_tol) return false;
    }
    r.x = z;
    return true;
  };

  for (r.sweeps = 1; r.sweeps <= options.nnls_max_sweeps; ++r.sweeps) {
    double max_step = 0.0;
    for (Eigen::Index i = 0; i < d; ++i) {
      const double gii = G(i, i);
      if (!(gii > 0.0)) continue;  // the coordinate does not affect the objective
      double next = r.x[i] - grad[i] / gii;
      if (i < nonneg && next < 0.0) next = 0.0;
      const double step = next - r.x[i];
      if (step != 0.0) {
        r.x[i] = next;
        grad.noalias() += step * G.col(i);
        max_step = std::max(max_step, std::abs(step));
      }
    }
    if (max_step <= options.nnls_tolerance * std::max(1.0, r.x.cwiseAbs().maxCoeff())) {
      try_exact();  // polish to the exact solution of the final active set when it is consistent
      return r;
    }
    if (options.nnls_sweeps_per_solve > 0 && r.sweeps % options.nnls_sweeps_per_solve == 0 && try_exact())
      return r;
  }
  r.sweeps = options.nnls_max_sweeps;
  return r;
}

struct Workspace {
  std::vector<float> scores;
  std::vector<std::int32_t> candidates;
};

// One per thread: requests reuse their buffers without sharing them across threads.
Workspace& thread_workspace() {
  thread_local Workspace workspace;
  return workspace;
}

}  // namespace

std::optional<YearFilter> parse_year_filter(std::string_view name) noexcept {
  if (name == "any") return YearFilter::any;
  if (name == "old") return YearFilter::older;
  if (name == "new") return YearFilter::newer;
  return std::nullopt;
}

std::string_view year_filter_name(YearFilter filter) noexcept {
  const auto i = static_cast<std::size_t>(filter);
  return i < kYearFilterNames.size() ? kYearFilterNames[i] : "unknown";
}

struct Recommender::FilterMask {
  bool check_year = false;
  std::int32_t year_lo = 0;
  std::int32_t year_hi = 0;
  std::int32_t min_ratings = 0;
  std::vector<std::uint64_t> include;  // empty: no restriction
  std::vector<std::uint64_t> exclude;  // empty: nothing excluded
};

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
      l2_bias_ = hyperparameter(m.hyperparameters, "l2_bias", defaults.l2_bias);
      break;
    case Algorithm::svd:
      kind_ = k > 0 ? FoldKind::projection : FoldKind::none;
      break;
    case Algorithm::nmf:
      if (m.objective == NmfObjective::masked) {
        kind_ = FoldKind::masked_nnls;
        l2_user_ = hyperparameter(m.hyperparameters, "l2_user", defaults.l2_user);
        l2_bias_ = hyperparameter(m.hyperparameters, "l2_bias", defaults.l2_bias);
      } else {
        kind_ = FoldKind::sklearn_transform;
        transform_max_iterations_ =
            options_.transform_max_iterations > 0
                ? options_.transform_max_iterations
                : static_cast<int>(hyperparameter(m.hyperparameters, "max_iterations", kSklearnMaxIter));
        transform_tolerance_ = options_.transform_tolerance >= 0.0
                                   ? options_.transform_tolerance
                                   : hyperparameter(m.hyperparameters, "tolerance", kSklearnTol);
      }
      break;
  }
  if (l2_user_ < 0.0 || l2_bias_ < 0.0) throw InvalidArgument("model has a negative regularization weight");

  if (k > 0) {
    const Eigen::Map<const RowMatrixXf> H(m.movie_factors.data.data(), static_cast<Eigen::Index>(n),
                                          static_cast<Eigen::Index>(k));
    if (kind_ == FoldKind::sklearn_transform) {
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
  if (k > 0) {
    sorted_norms_.resize(n);
    for (std::size_t i = 0; i < n; ++i) sorted_norms_[i] = norms_[static_cast<std::size_t>(by_count_[i])];
  }
}

std::vector<std::string> Recommender::genres() const {
  return genre_names_;
}

std::vector<std::int32_t> Recommender::resolve(std::span<const VisitorRating> ratings) const {
  const Model& m = *model_;
  std::vector<std::int32_t> rated;
  rated.reserve(ratings.size());
  std::vector<std::int64_t> unknown;
  std::vector<std::string> bad;
  for (const auto& r : ratings) {
    const auto index = m.movie_index(r.movie_id);
    if (!index) unknown.push_back(r.movie_id);
    if (std::isnan(r.rating)) {
      bad.push_back(fmt::format("movie {}: rating is NaN", r.movie_id));
    } else if (r.rating < options_.scale.min || r.rating > options_.scale.max) {
      bad.push_back(fmt::format("movie {}: rating {} is outside the scale {}..{}", r.movie_id, r.rating,
                                options_.scale.min, options_.scale.max));
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
  std::string message;
  if (!unknown.empty()) {
    message += fmt::format("unknown movie id{} (not in the model): {}", unknown.size() > 1 ? "s" : "",
                           join_listed(unknown));
  }
  if (!repeated.empty())
    message += (message.empty() ? "" : "; ") +
               fmt::format("movie ids rated more than once: {}", join_listed(repeated));
  if (!bad.empty()) message += (message.empty() ? "" : "; ") + join_listed(bad);
  throw InvalidArgument(message);
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
  if (n == 0 || kind_ == FoldKind::none)
    return out;  // cold start: the model's prior (offset and movie biases)

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
      const auto solution = solve_nonneg_qp(G, c, k, options_);
      for (Eigen::Index f = 0; f < k; ++f)
        out.factors[static_cast<std::size_t>(f)] = static_cast<float>(solution.x[f]);
      if (with_bias) out.bias = static_cast<float>(solution.x[k]);
      out.iterations = solution.sweeps;
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

std::size_t Recommender::floor_prefix(std::int32_t min_ratings) const {
  return static_cast<std::size_t>(
      std::upper_bound(sorted_counts_.begin(), sorted_counts_.end(), min_ratings, std::greater<>()) -
      sorted_counts_.begin());
}

void Recommender::score_prefix(std::span<const float> query, float base, bool with_movie_bias,
                               std::size_t prefix, std::span<float> out) const {
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
}

Recommender::FilterMask Recommender::compile_filters(const Filters& filters) const {
  const Model& m = *model_;
  FilterMask mask;
  const bool has_catalog = !m.catalog.empty() || m.n_movies() == 0;
  auto need_catalog = [&](const char* what) {
    if (!has_catalog) {
      throw InvalidArgument(fmt::format("the model has no catalog, so it cannot filter by {}", what));
    }
  };
  if (filters.min_ratings < 0)
    throw InvalidArgument(fmt::format("min_ratings must be >= 0, got {}", filters.min_ratings));
  if (filters.min_ratings > 0) need_catalog("the number of ratings (set min_ratings to 0)");
  mask.min_ratings = filters.min_ratings;
  switch (filters.years) {
    case YearFilter::any:
      break;
    case YearFilter::older:
      mask.check_year = true;
      mask.year_lo = std::numeric_limits<std::int32_t>::min();
      mask.year_hi = filters.boundary_year - 1;
      break;
    case YearFilter::newer:
      mask.check_year = true;
      mask.year_lo = filters.boundary_year;
      mask.year_hi = std::numeric_limits<std::int32_t>::max();
      break;
    case YearFilter::range:
      if (filters.year_from > filters.year_to) {
        throw InvalidArgument(
            fmt::format("year range {}..{} is empty (from > to)", filters.year_from, filters.year_to));
      }
      mask.check_year = true;
      mask.year_lo = filters.year_from;
      mask.year_hi = filters.year_to;
      break;
  }
  if (mask.check_year) need_catalog("year");

  std::vector<std::string> unknown;
  auto bits_of = [&](const std::vector<std::string>& names) {
    std::vector<std::uint64_t> bits;
    if (names.empty()) return bits;
    need_catalog("genre");
    bits.assign(genre_words_, 0);
    for (const auto& name : names) {
      auto it = std::find(genre_names_.begin(), genre_names_.end(), name);
      if (it == genre_names_.end()) {
        const auto wanted = lower_ascii(name);
        it = std::find_if(genre_names_.begin(), genre_names_.end(),
                          [&](const std::string& g) { return lower_ascii(g) == wanted; });
      }
      if (it == genre_names_.end()) {
        unknown.push_back("'" + name + "'");
        continue;
      }
      const auto bit = static_cast<std::size_t>(it - genre_names_.begin());
      bits[bit / 64] |= std::uint64_t{1} << (bit % 64);
    }
    return bits;
  };
  mask.include = bits_of(filters.genres_any);
  mask.exclude = bits_of(filters.genres_none);
  if (!unknown.empty()) {
    throw InvalidArgument(fmt::format("unknown genre{}: {} (the catalog has: {})",
                                      unknown.size() > 1 ? "s" : "", join_listed(unknown),
                                      fmt::join(genre_names_, ", ")));
  }
  return mask;
}

bool Recommender::passes(const FilterMask& mask, std::int32_t movie) const noexcept {
  const auto j = static_cast<std::size_t>(movie);
  if (counts_[j] < mask.min_ratings) return false;
  if (mask.check_year) {
    const auto y = years_[j];
    if (y == 0 || y < mask.year_lo || y > mask.year_hi) return false;
  }
  if (!mask.include.empty()) {
    bool any = false;
    for (std::size_t w = 0; w < genre_words_; ++w)
      any = any || (genre_bits_[j * genre_words_ + w] & mask.include[w]) != 0;
    if (!any) return false;
  }
  if (!mask.exclude.empty()) {
    for (std::size_t w = 0; w < genre_words_; ++w) {
      if ((genre_bits_[j * genre_words_ + w] & mask.exclude[w]) != 0) return false;
    }
  }
  return true;
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

std::vector<Contribution> Recommender::contributions(std::span<const VisitorRating> ratings,
                                                     std::int64_t movie_id) const {
  const auto rated = resolve(ratings);
  const auto movie = model_->movie_index(movie_id);
  if (!movie) throw InvalidArgument(fmt::format("unknown movie id (not in the model): {}", movie_id));
  return contributions_resolved(ratings, rated, *movie);
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
      out.push_back({rated[i], m.movie_ids[j], ratings[i].rating,
                     static_cast<float>(y * dot(m.movie_factors.row(rated[i]))), 0.0f});
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
      out.push_back({rated[i], m.movie_ids[j], ratings[i].rating,
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
  score_prefix(user.factors, m.global_offset + user.bias, true, prefix, ws.scores);
  std::vector<std::int32_t> exclude(rated.begin(), rated.end());
  std::sort(exclude.begin(), exclude.end());
  select_top(ws.scores, prefix, mask, exclude, request.top_n, ws.candidates);

  std::vector<Recommendation> out;
  out.reserve(ws.candidates.size());
  for (const auto position : ws.candidates) {
    const auto j = by_count_[static_cast<std::size_t>(position)];
    const auto jj = static_cast<std::size_t>(j);
    Recommendation rec{j, m.movie_ids[jj], ws.scores[static_cast<std::size_t>(position)], counts_[jj], {}};
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

std::vector<SimilarMovie> Recommender::similar(std::int64_t movie_id, const Filters& filters,
                                               int top_n) const {
  const Model& m = *model_;
  if (m.rank() == 0) {
    throw InvalidArgument(fmt::format("the {} model has no factors, so it cannot find similar movies",
                                      algorithm_name(m.algorithm)));
  }
  if (top_n <= 0) throw InvalidArgument(fmt::format("top_n must be positive, got {}", top_n));
  const auto query = m.movie_index(movie_id);
  if (!query) throw InvalidArgument(fmt::format("unknown movie id (not in the model): {}", movie_id));
  const auto q = static_cast<std::size_t>(*query);
  if (!(norms_[q] > 0.0f)) {
    throw InvalidArgument(
        fmt::format("movie {} has an all-zero factor vector: the model knows nothing about it", movie_id));
  }
  const auto mask = compile_filters(filters);

  const auto n = static_cast<Eigen::Index>(m.n_movies());
  const auto k = static_cast<Eigen::Index>(m.rank());
  FoldIn probe;
  probe.factors.resize(static_cast<std::size_t>(k));
  const auto row = m.movie_factors.row(*query);
  for (std::size_t f = 0; f < static_cast<std::size_t>(k); ++f) {
    probe.factors[f] = row[f] * similarity_weights_[f] / norms_[q];
  }
  Workspace& ws = thread_workspace();
  ws.scores.resize(static_cast<std::size_t>(n));
  const auto prefix = floor_prefix(mask.min_ratings);
  score_prefix(probe.factors, 0.0f, false, prefix, ws.scores);
  for (std::size_t i = 0; i < prefix; ++i) {
    const float norm = sorted_norms_[i];
    ws.scores[i] = norm > 0.0f ? std::clamp(ws.scores[i] / norm, -1.0f, 1.0f) : 0.0f;
  }
  const std::array<std::int32_t, 1> exclude{*query};
  select_top(ws.scores, prefix, mask, exclude, top_n, ws.candidates);
  std::vector<SimilarMovie> out;
  for (const auto position : ws.candidates) {
    const auto j = by_count_[static_cast<std::size_t>(position)];
    const auto jj = static_cast<std::size_t>(j);
    out.push_back({j, m.movie_ids[jj], ws.scores[static_cast<std::size_t>(position)], counts_[jj]});
  }
  return out;
}

}  // namespace cinefactor
