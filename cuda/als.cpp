// Implicit-feedback ALS on the device: the same iteration as cpu/als.cpp (users, then movies, each row by
// warm-started conjugate gradient, one warp per row in als_kernels.cu), Gram matrices summed like the
// CPU's (device_ops.hpp), the loss assembled on the host from the same parts.
#include <string>
#include <vector>

#include "als_kernels.cuh"
#include "cinefactor/error.hpp"
#include "cuda_backend.hpp"
#include "device_csr.hpp"
#include "device_ops.hpp"
#include "engine/als_objective.hpp"

namespace cinefactor::engine::cuda {
namespace {

double trace(const std::vector<double>& g, int k) {
  double t = 0.0;
  for (int f = 0; f < k; ++f) t += g[static_cast<std::size_t>(f) * static_cast<std::size_t>(k + 1)];
  return t;
}

double inner(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

IterationLog CudaBackend::implicit_als(const RatingMatrix& ratings, const AlsSettings& settings,
                                       AlsFactors& factors, const IterationControl& control) {
  check_als_factors(ratings, settings, factors);
  const int k = static_cast<int>(factors.users.cols);
  if (k > kCudaMaxAlsRank) {
    throw InvalidArgument("the CUDA implicit ALS supports rank <= " + std::to_string(kCudaMaxAlsRank) +
                          ", got " + std::to_string(k));
  }
  ctx_.activate();
  const std::int64_t m = ratings.n_users();
  const std::int64_t n = ratings.n_movies();
  to_int32(ratings.nnz(), "the number of ratings");
  require_memory({CudaJob::als, m, n, ratings.nnz(), k, 0, false}, "implicit ALS");
  const DeviceCsr xu(ctx_, ratings.by_user(), 0.0f);
  const DeviceCsr xm(ctx_, ratings.by_movie(), 0.0f);
  DeviceBuffer<float> x = upload_matrix(ctx_, factors.users);
  DeviceBuffer<float> y = upload_matrix(ctx_, factors.movies);
  const auto kk = static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
  DeviceBuffer<double> gram_d(kk, ctx_.stream());
  DeviceBuffer<float> gram_f(kk, ctx_.stream());
  DeviceBuffer<double> positives(1, ctx_.stream());
  BlockedGram gram(ctx_, k);
  const auto side = [&](const DeviceCsr& csr, const DeviceBuffer<float>& other, DeviceBuffer<float>& self,
                        double* sum) {
    return AlsSideArgs{csr.indptr.data(),
                       csr.indices.data(),
                       csr.values.data(),
                       other.data(),
                       self.data(),
                       gram_f.data(),
                       csr.rows,
                       k,
                       settings.l2,
                       als_confidence(settings.alpha),
                       settings.positive_threshold,
                       settings.cg_steps,
                       sum};
  };
  const AlsSideArgs users = side(xu, y, x, nullptr);
  const AlsSideArgs movies = side(xm, x, y, positives.data());
  std::vector<double> user_gram(kk);
  std::vector<double> movie_gram(kk);
  std::vector<double> positive_sum(1);
  gram.run(y.data(), n, gram_d.data(), gram_f.data());
  gram_d.download(movie_gram);
  IterationTracker tracker(control);
  while (true) {
    positives.zero();
    launch_als_side(ctx_.stream(), users);  // reads gram_f = Y^T Y
    gram.run(x.data(), m, gram_d.data(), gram_f.data());
    gram_d.download(user_gram);
    launch_als_side(ctx_.stream(), movies);  // reads gram_f = X^T X
    gram.run(y.data(), n, gram_d.data(), gram_f.data());
    gram_d.download(movie_gram);
    positives.download(positive_sum);
    const double loss = implicit_als_loss(positive_sum[0], inner(user_gram, movie_gram), trace(user_gram, k),
                                          trace(movie_gram, k), settings.l2);
    if (tracker.record(loss)) break;
  }
  x.download(factors.users.data);
  y.download(factors.movies.data);
  if (!all_finite(factors.users.data) || !all_finite(factors.movies.data))
    tracker.diverged("a factor is not finite");
  return tracker.take();
}

}  // namespace cinefactor::engine::cuda
