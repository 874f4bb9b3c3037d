// NMF initializations and their random numbers (see nmf_init.hpp).
#include "engine/nmf_init.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <span>

#include "cinefactor/error.hpp"
#include "core/parallel.hpp"
#include "engine/random.hpp"

namespace cinefactor::engine {
namespace {

// scikit-learn's _initialize_nmf(eps=1e-6): NNDSVD entries below it count as zero.
constexpr double kNndsvdZero = 1e-6;
// Salt that separates the movie-side random streams from the user-side ones.
constexpr std::uint64_t kMovieStreamSalt = 0xA5A5A5A5DEADBEEFull;

}  // namespace

NmfFactors nmf_init_random(std::int32_t users, std::int32_t movies, int rank, double mean, std::uint64_t seed,
                           int threads, const std::vector<std::int32_t>* user_rows) {
  if (rank < 1) throw InvalidArgument("NMF rank must be >= 1");
  if (!(mean >= 0.0) || !std::isfinite(mean))
    throw InvalidArgument("NMF random init needs a finite mean >= 0");
  const double scale = std::sqrt(mean / rank);
  NmfFactors f{DenseMatrix(user_rows ? static_cast<std::int64_t>(user_rows->size()) : users, rank),
               DenseMatrix(movies, rank)};
  // Row r of m is row stream(r) of the full matrix: its random stream depends on that index only.
  auto fill = [&](DenseMatrix& m, std::uint64_t salt, auto stream) {
#pragma omp parallel for schedule(static) num_threads(resolve_threads(threads))
    for (std::int64_t r = 0; r < m.rows; ++r) {
      NormalGenerator gen(stream_seed(seed ^ salt, static_cast<std::uint64_t>(stream(r))));
      for (auto& x : m.row(r)) x = static_cast<float>(scale * std::abs(gen.next()));
    }
  };
  if (user_rows) {
    fill(f.w, 0, [&](std::int64_t r) { return (*user_rows)[static_cast<std::size_t>(r)]; });
  } else {
    fill(f.w, 0, [](std::int64_t r) { return r; });
  }
  fill(f.ht, kMovieStreamSalt, [](std::int64_t r) { return r; });
  return f;
}

NmfFactors nmf_init_nndsvda(const SvdResult& svd, double fill,
                            const std::function<void(std::span<double>)>& sum_over_users) {
  const std::int64_t m = svd.u.rows;
  const std::int64_t n = svd.v.rows;
  const std::int64_t k = svd.u.cols;
  NmfFactors f{DenseMatrix(m, k), DenseMatrix(n, k)};
  auto squares = [](const std::vector<double>& x) {
    double s = 0.0;
    for (double v : x) s += v * v;
    return s;
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
      // The user side may be one part of the users (a distributed fit): its squares are summed over all.
      double user_squares[2] = {squares(xp), squares(xn)};
      if (sum_over_users) sum_over_users(user_squares);
      const double xp_norm = std::sqrt(user_squares[0]), xn_norm = std::sqrt(user_squares[1]);
      const double yp_norm = std::sqrt(squares(yp)), yn_norm = std::sqrt(squares(yn));
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

void fit_scale_to_observed(const RatingMatrix& ratings, float offset, NmfFactors& factors, int threads,
                           const std::function<void(std::span<double>)>& sum_over_users) {
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
  double sums[2] = {cross, pred_sq};
  if (sum_over_users) sum_over_users(sums);
  cross = sums[0];
  pred_sq = sums[1];
  const double c = pred_sq > 0.0 ? std::max(cross / pred_sq, kMinScale) : 1.0;
  const auto root = static_cast<float>(std::sqrt(c));
  for (auto& v : factors.w.data) v *= root;
  for (auto& v : factors.ht.data) v *= root;
}

}  // namespace cinefactor::engine
