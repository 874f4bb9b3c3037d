// Backend-neutral parts of the factorizers: iteration bookkeeping, random numbers, NMF initialization.
#include "factorizer.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

#include "cinefactor/error.hpp"

namespace cinefactor::engine {
namespace {

// scikit-learn's _initialize_nmf(eps=1e-6): NNDSVD entries below it count as zero.
constexpr double kNndsvdZero = 1e-6;
// Salt that separates the movie-side random streams from the user-side ones.
constexpr std::uint64_t kMovieStreamSalt = 0xA5A5A5A5DEADBEEFull;

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

}  // namespace

int resolve_threads(int threads) noexcept { return threads > 0 ? threads : std::max(1, omp_get_max_threads()); }

IterationTracker::IterationTracker(const IterationControl& control) : control_(control), start_seconds_(now_seconds()) {
  if (control.max_iterations < 1) throw InvalidArgument("max_iterations must be >= 1");
  if (!(control.tolerance >= 0.0)) throw InvalidArgument("tolerance must be >= 0");
}

bool IterationTracker::record(double loss) {
  ++log_.iterations;
  log_.loss_history.push_back(loss);
  if (control_.on_iteration) control_.on_iteration({log_.iterations, loss, now_seconds() - start_seconds_});
  if (log_.iterations >= control_.max_iterations) return true;
  if (control_.tolerance > 0.0 && log_.loss_history.size() >= 2) {
    const double previous = log_.loss_history[log_.loss_history.size() - 2];
    const double change = std::abs(previous - loss) / std::max(std::abs(previous), std::numeric_limits<double>::min());
    if (change < control_.tolerance) return true;
  }
  return false;
}

void IterationTracker::diverged(const std::string& what) const {
  throw Error("training diverged at iteration " + std::to_string(log_.iterations + 1) + ": " + what);
}

std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) noexcept {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t NormalGenerator::next_bits() {
  state_ += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double NormalGenerator::next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  constexpr double kTwoTo53 = 9007199254740992.0;
  const double u1 = (static_cast<double>(next_bits() >> 11) + 1.0) / kTwoTo53;  // (0, 1]
  const double u2 = static_cast<double>(next_bits() >> 11) / kTwoTo53;        // [0, 1)
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

NmfFactors nmf_init_random(std::int32_t users, std::int32_t movies, int rank, double mean, std::uint64_t seed,
                           int threads) {
  if (rank < 1) throw InvalidArgument("NMF rank must be >= 1");
  if (!(mean >= 0.0) || !std::isfinite(mean)) throw InvalidArgument("NMF random init needs a finite mean >= 0");
  const double scale = std::sqrt(mean / rank);
  NmfFactors f{DenseMatrix(users, rank), DenseMatrix(movies, rank)};
  auto fill = [&](DenseMatrix& m, std::uint64_t salt) {
#pragma omp parallel for schedule(static) num_threads(resolve_threads(threads))
    for (std::int64_t r = 0; r < m.rows; ++r) {
      NormalGenerator gen(stream_seed(seed ^ salt, static_cast<std::uint64_t>(r)));
      for (auto& x : m.row(r)) x = static_cast<float>(scale * std::abs(gen.next()));
    }
  };
  fill(f.w, 0);
  fill(f.ht, kMovieStreamSalt);
  return f;
}

NmfFactors nmf_init_nndsvda(const SvdResult& svd, double fill) {
  const std::int64_t m = svd.u.rows;
  const std::int64_t n = svd.v.rows;
  const std::int64_t k = svd.u.cols;
  NmfFactors f{DenseMatrix(m, k), DenseMatrix(n, k)};
  auto norm = [](const std::vector<double>& x) {
    double s = 0.0;
    for (double v : x) s += v * v;
    return std::sqrt(s);
  };
  std::vector<double> xp(static_cast<std::size_t>(m)), xn(static_cast<std::size_t>(m));
  std::vector<double> yp(static_cast<std::size_t>(n)), yn(static_cast<std::size_t>(n));
  for (std::int64_t c = 0; c < k; ++c) {
    for (std::int64_t i = 0; i < m; ++i) {
      const double x = svd.u(i, c);
      xp[static_cast<std::size_t>(i)] = std::max(x, 0.0);
      xn[static_cast<std::size_t>(i)] = std::max(-x, 0.0);
    }
    for (std::int64_t j = 0; j < n; ++j) {
      const double y = svd.v(j, c);
      yp[static_cast<std::size_t>(j)] = std::max(y, 0.0);
      yn[static_cast<std::size_t>(j)] = std::max(-y, 0.0);
    }
    const double s = svd.sigma[static_cast<std::size_t>(c)];
    const std::vector<double>* x = &xp;
    const std::vector<double>* y = &yp;
    double lambda = 0.0;
    double x_norm = 1.0;
    double y_norm = 1.0;
    if (c == 0) {
      // The leading singular pair of a non-negative matrix is non-negative (up to sign): use |u|, |v|.
      for (std::int64_t i = 0; i < m; ++i) xp[static_cast<std::size_t>(i)] = std::abs(svd.u(i, c));
      for (std::int64_t j = 0; j < n; ++j) yp[static_cast<std::size_t>(j)] = std::abs(svd.v(j, c));
      lambda = std::sqrt(s);
    } else {
      const double xp_norm = norm(xp), yp_norm = norm(yp), xn_norm = norm(xn), yn_norm = norm(yn);
      const double mp = xp_norm * yp_norm;
      const double mn = xn_norm * yn_norm;
      if (mp > mn) {
        x_norm = xp_norm;
        y_norm = yp_norm;
      } else {
        x = &xn;
        y = &yn;
        x_norm = xn_norm;
        y_norm = yn_norm;
      }
      lambda = std::sqrt(s * std::max(mp, mn));
    }
    for (std::int64_t i = 0; i < m; ++i) {
      const double w = x_norm > 0.0 ? lambda * (*x)[static_cast<std::size_t>(i)] / x_norm : 0.0;
      f.w(i, c) = static_cast<float>(w < kNndsvdZero ? fill : w);
    }
    for (std::int64_t j = 0; j < n; ++j) {
      const double h = y_norm > 0.0 ? lambda * (*y)[static_cast<std::size_t>(j)] / y_norm : 0.0;
      f.ht(j, c) = static_cast<float>(h < kNndsvdZero ? fill : h);
    }
  }
  return f;
}

void fit_scale_to_observed(const RatingMatrix& ratings, float offset, NmfFactors& factors, int threads) {
  // Smallest scale kept when the observed targets do not correlate positively with the initial guess
  // (biased models whose targets r - mean are centred): MU cannot grow a factor from zero.
  constexpr double kMinScale = 1e-2;
  const auto& x = ratings.by_user();
  const std::int64_t k = factors.w.cols;
  // Fixed chunks with partial sums added in chunk order: the result does not depend on the thread count.
  constexpr std::int32_t kChunks = 64;
  std::vector<double> cross_part(kChunks, 0.0), pred_part(kChunks, 0.0);
#pragma omp parallel for schedule(dynamic, 1) num_threads(resolve_threads(threads))
  for (std::int32_t chunk = 0; chunk < kChunks; ++chunk) {
    const auto begin = static_cast<std::int32_t>(static_cast<std::int64_t>(x.rows) * chunk / kChunks);
    const auto end = static_cast<std::int32_t>(static_cast<std::int64_t>(x.rows) * (chunk + 1) / kChunks);
    double cross = 0.0;
    double pred_sq = 0.0;
    for (std::int32_t u = begin; u < end; ++u) {
      const float* w = factors.w.row(u).data();
      for (std::int64_t e = x.row_begin(u); e < x.row_end(u); ++e) {
        const float* h = factors.ht.row(x.indices[static_cast<std::size_t>(e)]).data();
        double dot = 0.0;
        for (std::int64_t f = 0; f < k; ++f) dot += static_cast<double>(w[f]) * h[f];
        cross += (x.values[static_cast<std::size_t>(e)] - offset) * dot;
        pred_sq += dot * dot;
      }
    }
    cross_part[static_cast<std::size_t>(chunk)] = cross;
    pred_part[static_cast<std::size_t>(chunk)] = pred_sq;
  }
  double cross = 0.0;
  double pred_sq = 0.0;
  for (std::int32_t chunk = 0; chunk < kChunks; ++chunk) {
    cross += cross_part[static_cast<std::size_t>(chunk)];
    pred_sq += pred_part[static_cast<std::size_t>(chunk)];
  }
  const double c = pred_sq > 0.0 ? std::max(cross / pred_sq, kMinScale) : 1.0;
  const auto root = static_cast<float>(std::sqrt(c));
  for (auto& v : factors.w.data) v *= root;
  for (auto& v : factors.ht.data) v *= root;
}

void check_nmf_factors(const RatingMatrix& ratings, const NmfFactors& f) {
  if (f.w.cols <= 0 || f.w.cols != f.ht.cols) throw InvalidArgument("NMF factors need the same rank >= 1 on both sides");
  if (f.w.rows != ratings.n_users() || f.ht.rows != ratings.n_movies()) {
    throw InvalidArgument("NMF factors do not match the rating matrix: W is " + std::to_string(f.w.rows) + " x " +
                          std::to_string(f.w.cols) + ", H^T " + std::to_string(f.ht.rows) + " x " +
                          std::to_string(f.ht.cols) + " for " + std::to_string(ratings.n_users()) + " users x " +
                          std::to_string(ratings.n_movies()) + " movies");
  }
}

void check_svd_settings(const RatingMatrix& ratings, const SvdSettings& settings) {
  const std::int64_t smaller = std::min<std::int64_t>(ratings.n_users(), ratings.n_movies());
  if (settings.rank < 1 || settings.rank > smaller) {
    throw InvalidArgument("SVD rank must be between 1 and min(users, movies) = " + std::to_string(smaller) + ", got " +
                          std::to_string(settings.rank));
  }
  if (settings.oversamples < 0) throw InvalidArgument("SVD oversamples must be >= 0");
  if (settings.power_iterations < 0) throw InvalidArgument("SVD power iterations must be >= 0");
}

}  // namespace cinefactor::engine
