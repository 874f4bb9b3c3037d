// CudaBackend's NMF, both objectives. Layouts: the factor matrices stay row-major as on the host (W users x
// k, H^T movies x k), which cuBLAS sees as column-major k x rows; the zero objective's sparse products are
// cuSPARSE SpMM on the CSR view (X H^T) and on the CSC view stored as a CSR (X^T W); the masked
// objective's sides are fused kernels (nmf_kernels.cu).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "cuda_backend.hpp"
#include "dense_kernels.cuh"
#include "device_csr.hpp"
#include "device_ops.hpp"
#include "engine/nmf_objective.hpp"
#include "nmf_kernels.cuh"

namespace cinefactor::engine::cuda {
namespace {

static_assert(kMaskedKernelMaxRank == kCudaMaxMaskedRank,
              "the kernel's register budget sets the documented maximum");
constexpr int kBlockThreads = kKernelBlockThreads;

// The rows with more than kLongRowEntries ratings, on the device, recorded in `args`.
DeviceBuffer<std::int32_t> upload_long_rows(CudaContext& ctx, const SparseMatrix& x, MaskedSideArgs& args) {
  std::vector<std::int32_t> rows;
  for (std::int32_t r = 0; r < x.rows; ++r) {
    if (x.row_nnz(r) > kLongRowEntries) rows.push_back(r);
  }
  DeviceBuffer<std::int32_t> d(rows.size(), ctx.stream());
  d.upload(rows);
  args.long_rows = d.data();
  args.long_count = static_cast<std::int32_t>(rows.size());
  args.long_threshold = kLongRowEntries;
  return d;
}

// Logical bytes one masked side kernel moves: each row's factors read and written, and per walk over
// the entries an index, a value, the gathered factor row and (with biases) the other side's bias.
double masked_side_bytes(const MaskedSideArgs& a, std::int64_t nnz) {
  const double walks = a.second_walk ? 2.0 : 1.0;
  const double per_entry = sizeof(std::int32_t) + sizeof(float) + static_cast<double>(a.k) * sizeof(float) +
                           (a.other_bias ? sizeof(float) : 0.0);
  const double per_row =
      2.0 * a.k * sizeof(float) + sizeof(std::int32_t) + (a.self_bias ? 2.0 * sizeof(float) : 0.0);
  return static_cast<double>(a.rows) * per_row + walks * static_cast<double>(nnz) * per_entry;
}

}  // namespace

IterationLog CudaBackend::nmf_zero(const RatingMatrix& ratings, NmfFactors& factors,
                                   const IterationControl& control) {
  return nmf_zero_run(ratings, factors, control, nullptr);
}

IterationLog CudaBackend::nmf_zero_across(const RatingMatrix& ratings, NmfFactors& factors,
                                          const IterationControl& control, ProcessSums& across) {
  return nmf_zero_run(ratings, factors, control, &across);
}

// With `across`, the rows of `ratings` are one process's users: the user side is local, and the three sums
// over users (||X||^2, W^T W and X^T W) are added across the processes before the movie side uses them, so
// every process computes the same movie factors and loss: an all-reduce of n k floats and k^2 doubles per
// iteration.
IterationLog CudaBackend::nmf_zero_run(const RatingMatrix& ratings, NmfFactors& factors,
                                       const IterationControl& control, ProcessSums* across) {
  check_nmf_factors(ratings, factors);
  ctx_.activate();
  const int k = static_cast<int>(factors.w.cols);
  const std::int64_t m = ratings.n_users();
  const std::int64_t n = ratings.n_movies();
  to_int32(ratings.nnz(), "the number of ratings");
  require_memory({CudaJob::nmf_zero, m, n, ratings.nnz(), k, 0, false}, "NMF (zero objective)");
  double norm_x = 0.0;
  for (const float v : ratings.by_user().values) norm_x += static_cast<double>(v) * v;
  if (across) norm_x = across->sum(norm_x);

  const DeviceCsr xu(ctx_, ratings.by_user(), 0.0f);
  const DeviceCsr xm(ctx_, ratings.by_movie(), 0.0f);
  DeviceBuffer<float> w = upload_matrix(ctx_, factors.w);
  DeviceBuffer<float> h = upload_matrix(ctx_, factors.ht);
  DeviceBuffer<float> num(static_cast<std::size_t>(std::max(m, n) * k), ctx_.stream());
  DeviceBuffer<float> den(num.size(), ctx_.stream());
  DeviceBuffer<float> gw(static_cast<std::size_t>(k) * k, ctx_.stream());
  DeviceBuffer<float> gh(gw.size(), ctx_.stream());
  DeviceBuffer<double> gw_d(gw.size(), ctx_.stream());
  DeviceBuffer<double> gh_d(gw.size(), ctx_.stream());
  BlockedGram gram(ctx_, k);
  // [cross of the W pass, cross of the H pass, <W^T W, H H^T>]
  DeviceBuffer<double> sums(3, ctx_.stream());
  SpmmPlan xu_h(ctx_, xu, h.data(), num.data(), k, CUSPARSE_ORDER_ROW);
  SpmmPlan xm_w(ctx_, xm, w.data(), num.data(), k, CUSPARSE_ORDER_ROW);
  const int grid_w = grid_for(ctx_, m * k, kBlockThreads);
  const int grid_h = grid_for(ctx_, n * k, kBlockThreads);
  // Logical traffic of one update: self read + written, num and den read.
  constexpr double kUpdateAccesses = 4.0;

  gram.run(h.data(), n, gh_d.data(), gh.data());
  IterationTracker tracker(control);
  std::vector<double> host_sums(3);
  while (true) {
    sums.zero();
    // W <- W * (X H^T) / (W (H H^T))
    xu_h.run();
    gemm_nn(ctx_, k, m, k, gh.data(), w.data(), den.data());  // den_cm (k x m) = G_h W_cm (G_h symmetric)
    zero_users_.start(ctx_.stream(), timing_);
    launch_nmf_zero_update(ctx_.stream(), grid_w, w.data(), num.data(), den.data(), m * k, kMuEpsilon,
                           sums.data());
    zero_users_.stop(ctx_.stream(), kUpdateAccesses * sizeof(float) * static_cast<double>(m * k));
    gram.run(w.data(), m, gw_d.data(), gw.data());
    if (across) {
      across->sum(gw_d.data(), static_cast<std::int64_t>(k) * k, ctx_.stream());
      launch_to_float(ctx_.stream(), gw_d.data(), static_cast<std::int64_t>(k) * k, gw.data());
    }
    // H^T <- H^T * (X^T W) / (H^T (W^T W))
    xm_w.run();
    if (across) across->sum(num.data(), n * k, ctx_.stream());
    gemm_nn(ctx_, k, n, k, gw.data(), h.data(), den.data());
    zero_movies_.start(ctx_.stream(), timing_);
    launch_nmf_zero_update(ctx_.stream(), grid_h, h.data(), num.data(), den.data(), n * k, kMuEpsilon,
                           sums.data() + 1);
    zero_movies_.stop(ctx_.stream(), kUpdateAccesses * sizeof(float) * static_cast<double>(n * k));
    gram.run(h.data(), n, gh_d.data(), gh.data());
    launch_frobenius_inner(ctx_.stream(), gw_d.data(), gh_d.data(), static_cast<std::int64_t>(k) * k,
                           sums.data() + 2);
    sums.download(host_sums);
    collect_timers();
    if (tracker.record(zero_nmf_loss(norm_x, host_sums[1], host_sums[2]))) break;
  }
  w.download(factors.w.data);
  h.download(factors.ht.data);
  if (!all_finite(factors.w.data) || !all_finite(factors.ht.data)) tracker.diverged("a factor is not finite");
  return tracker.take();
}

IterationLog CudaBackend::nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings,
                                     MaskedNmfState& state, const IterationControl& control) {
  check_nmf_factors(ratings, state.factors);
  if (!(settings.l2_user >= 0.0f) || !(settings.l2_movie >= 0.0f) || !(settings.l2_bias >= 0.0f)) {
    throw InvalidArgument("NMF L2 weights must be >= 0");
  }
  const int k = static_cast<int>(state.factors.w.cols);
  if (k > kCudaMaxMaskedRank) {
    throw InvalidArgument("the CUDA masked NMF supports rank <= " + std::to_string(kCudaMaxMaskedRank) +
                          ", got " + std::to_string(k));
  }
  ctx_.activate();
  const std::int64_t m = ratings.n_users();
  const std::int64_t n = ratings.n_movies();
  to_int32(ratings.nnz(), "the number of ratings");
  require_memory({CudaJob::nmf_masked, m, n, ratings.nnz(), k, 0, settings.biases}, "NMF (masked objective)");
  if (settings.biases) {
    state.user_bias.resize(static_cast<std::size_t>(m), 0.0f);
    state.movie_bias.resize(static_cast<std::size_t>(n), 0.0f);
  } else {
    state.user_bias.clear();
    state.movie_bias.clear();
  }
  const DeviceCsr xu(ctx_, ratings.by_user(), 0.0f);
  const DeviceCsr xm(ctx_, ratings.by_movie(), 0.0f);
  DeviceBuffer<float> w = upload_matrix(ctx_, state.factors.w);
  DeviceBuffer<float> h = upload_matrix(ctx_, state.factors.ht);
  DeviceBuffer<float> bu(state.user_bias.size(), ctx_.stream());
  DeviceBuffer<float> bm(state.movie_bias.size(), ctx_.stream());
  if (settings.biases) {
    bu.upload(state.user_bias);
    bm.upload(state.movie_bias);
  }
  // [user side: sse, weighted norm, bias norm; movie side: the same]
  DeviceBuffer<double> sums(6, ctx_.stream());
  // One side's update: its CSR view, its factors and biases, the other side's, its L2 weight and its three
  // sums.
  const auto side = [&](const DeviceCsr& x, DeviceBuffer<float>& self, const DeviceBuffer<float>& other,
                        DeviceBuffer<float>& self_bias, const DeviceBuffer<float>& other_bias, float l2,
                        bool second_walk, double* side_sums) {
    return MaskedSideArgs{x.indptr.data(),
                          x.indices.data(),
                          x.values.data(),
                          other.data(),
                          self.data(),
                          settings.biases ? other_bias.data() : nullptr,
                          settings.biases ? self_bias.data() : nullptr,
                          x.rows,
                          k,
                          state.global_offset,
                          l2,
                          settings.l2_bias,
                          second_walk,
                          kMuEpsilon,
                          side_sums,
                          nullptr,
                          0,
                          kLongRowEntries};
  };
  // The user pass walks its ratings twice only to refit biases; the movie pass always does, for the loss.
  MaskedSideArgs user_side = side(xu, w, h, bu, bm, settings.l2_user, settings.biases, sums.data());
  MaskedSideArgs movie_side = side(xm, h, w, bm, bu, settings.l2_movie, true, sums.data() + 3);
  const DeviceBuffer<std::int32_t> user_long = upload_long_rows(ctx_, ratings.by_user(), user_side);
  const DeviceBuffer<std::int32_t> movie_long = upload_long_rows(ctx_, ratings.by_movie(), movie_side);
  const double user_bytes = masked_side_bytes(user_side, ratings.nnz());
  const double movie_bytes = masked_side_bytes(movie_side, ratings.nnz());
  IterationTracker tracker(control);
  std::vector<double> s(6);
  while (true) {
    sums.zero();
    masked_users_.start(ctx_.stream(), timing_);
    launch_masked_side(ctx_.stream(), user_side);
    masked_users_.stop(ctx_.stream(), user_bytes);
    masked_movies_.start(ctx_.stream(), timing_);
    launch_masked_side(ctx_.stream(), movie_side);
    masked_movies_.stop(ctx_.stream(), movie_bytes);
    sums.download(s);
    collect_timers();
    const MaskedLossTerms terms{s[3], s[1], s[4], s[2] + s[5]};
    if (tracker.record(masked_nmf_loss(terms, settings.l2_user, settings.l2_movie, settings.l2_bias))) break;
  }
  w.download(state.factors.w.data);
  h.download(state.factors.ht.data);
  if (settings.biases) {
    bu.download(state.user_bias);
    bm.download(state.movie_bias);
  }
  if (!all_finite(state.factors.w.data) || !all_finite(state.factors.ht.data)) {
    tracker.diverged("a factor is not finite");
  }
  return tracker.take();
}

}  // namespace cinefactor::engine::cuda
