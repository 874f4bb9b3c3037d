// The CUDA factorizer (see cuda_factorizer.hpp). Layouts: the factor matrices stay row-major as on the
// host (W users x k, H^T movies x k), which cuBLAS sees as column-major k x rows; the sparse products
// are cuSPARSE SpMM on the CSR view (X H^T) and on the CSC view stored as a CSR (X^T W). The SVD keeps
// its tall bases column-major, the layout cuSOLVER's QR works in.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "cuda_factorizer.hpp"
#include "dense_kernels.cuh"
#include "nmf_kernels.cuh"

namespace cinefactor::engine::cuda {
namespace {

static_assert(kMaskedKernelMaxRank == kCudaMaxMaskedRank, "the kernel's register budget sets the documented maximum");
constexpr int kBlockThreads = kKernelBlockThreads;
// Blocks per multiprocessor the grid-stride element-wise kernels are launched with.
constexpr int kBlocksPerSm = 8;

std::int32_t to_int32(std::int64_t v, const char* what) {
  if (v > kCudaMaxNnz) throw InvalidArgument(std::string(what) + " exceeds the CUDA backend's int32 index range");
  return static_cast<std::int32_t>(v);
}

// ---------------------------------------------------------------------------------------------------
// Host helpers

int grid_for(const CudaContext& ctx, std::int64_t work_items, int per_block) {
  const std::int64_t wanted = (work_items + per_block - 1) / per_block;
  const std::int64_t cap = static_cast<std::int64_t>(ctx.properties().multiProcessorCount) * kBlocksPerSm;
  return static_cast<int>(std::max<std::int64_t>(1, std::min(wanted, cap)));
}

bool all_finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

DeviceBuffer<float> upload_matrix(CudaContext& ctx, const DenseMatrix& m) {
  DeviceBuffer<float> d(m.data.size(), ctx.stream());
  d.upload(m.data);
  return d;
}

// C (rows x cols, column-major) = A (rows x inner) B (inner x cols), both column-major.
void gemm_nn(CudaContext& ctx, std::int64_t rows, std::int64_t cols, std::int64_t inner, const float* a,
             const float* b, float* c) {
  const float one = 1.0f;
  const float zero = 0.0f;
  CINEFACTOR_CUDA_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(rows),
                                    static_cast<int>(cols), static_cast<int>(inner), &one, a, static_cast<int>(rows),
                                    b, static_cast<int>(inner), &zero, c, static_cast<int>(rows)));
}

// Gram matrices G = F^T F (k x k) of a row-major rows x k factor matrix F (column-major k x rows for
// cuBLAS: G = F_cm F_cm^T), summed the way the CPU backend sums them: float products over at most
// kGramBlocks row blocks (of equal row counts here; the CPU balances its blocks by ratings), then the blocks
// added in double in block order. A single SGEMM over 162,541 rows would carry float rounding into the
// loss at the size of the default stopping tolerance.
class BlockedGram {
 public:
  static constexpr std::int64_t kGramBlocks = kCudaGramBlocks;

  BlockedGram(CudaContext& ctx, int k)
      : ctx_(ctx), k_(k), partial_(static_cast<std::size_t>(kGramBlocks) * k * k, ctx.stream()) {}

  // g_double and g_float (k x k) = F^T F.
  void run(const float* f, std::int64_t rows, double* g_double, float* g_float) {
    const float one = 1.0f;
    const float zero = 0.0f;
    const std::int64_t per_block = std::max<std::int64_t>(1, (rows + kGramBlocks - 1) / kGramBlocks);
    const std::int64_t full = rows / per_block;
    const std::int64_t rest = rows - full * per_block;
    const std::int64_t kk = static_cast<std::int64_t>(k_) * k_;
    if (full > 0) {
      CINEFACTOR_CUDA_CHECK(cublasSgemmStridedBatched(
          ctx_.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, k_, k_, static_cast<int>(per_block), &one, f, k_,
          per_block * k_, f, k_, per_block * k_, &zero, partial_.data(), k_, kk, static_cast<int>(full)));
    }
    if (rest > 0) {
      const float* tail = f + full * per_block * k_;
      CINEFACTOR_CUDA_CHECK(cublasSgemm(ctx_.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, k_, k_, static_cast<int>(rest), &one,
                                        tail, k_, tail, k_, &zero, partial_.data() + full * kk, k_));
    }
    launch_sum_blocks(ctx_.stream(), partial_.data(), static_cast<int>(full + (rest > 0 ? 1 : 0)), kk, g_double,
                      g_float);
  }

 private:
  CudaContext& ctx_;
  int k_;
  DeviceBuffer<float> partial_;
};

// ---------------------------------------------------------------------------------------------------
// The factorizer

class CudaFactorizer final : public Factorizer, public CudaKernelProfile {
 public:
  explicit CudaFactorizer(int device)
      : ctx_(device),
        zero_users_("nmf_zero_update (users)"),
        zero_movies_("nmf_zero_update (movies)"),
        masked_users_("nmf_masked_side (users)"),
        masked_movies_("nmf_masked_side (movies)") {}

  std::string device_description() const override {
    return "cuda:" + std::to_string(ctx_.device()) + " (" + ctx_.properties().name + ")";
  }

  IterationLog nmf_zero(const RatingMatrix& ratings, NmfFactors& factors, const IterationControl& control) override;
  IterationLog nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings, MaskedNmfState& state,
                          const IterationControl& control) override;
  SvdResult truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) override;

  void set_kernel_timing(bool on) override { timing_ = on; }
  std::vector<CudaKernelStats> kernel_stats() const override {
    return {zero_users_.stats, zero_movies_.stats, masked_users_.stats, masked_movies_.stats};
  }
  void reset_kernel_stats() override {
    for (KernelTimer* t : {&zero_users_, &zero_movies_, &masked_users_, &masked_movies_}) {
      t->stats.launches = 0;
      t->stats.seconds = 0.0;
      t->stats.bytes = 0.0;
    }
  }
  double peak_bandwidth_bytes_per_second() const override {
    int clock_khz = 0;
    int bus_bits = 0;
    CINEFACTOR_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, ctx_.device()));
    CINEFACTOR_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, ctx_.device()));
    constexpr double kDoubleDataRate = 2.0;
    constexpr double kBitsPerByte = 8.0;
    constexpr double kHzPerKhz = 1000.0;
    return kDoubleDataRate * clock_khz * kHzPerKhz * (bus_bits / kBitsPerByte);
  }

 private:
  void require_memory(const CudaWorkload& w, const std::string& what) {
    require_cuda_memory(estimate_cuda_memory(w), ctx_.free_memory(), what + " on " + device_description());
  }
  void collect_timers() {
    for (KernelTimer* t : {&zero_users_, &zero_movies_, &masked_users_, &masked_movies_}) t->collect();
  }

  CudaContext ctx_;
  bool timing_ = false;
  KernelTimer zero_users_;
  KernelTimer zero_movies_;
  KernelTimer masked_users_;
  KernelTimer masked_movies_;
};

IterationLog CudaFactorizer::nmf_zero(const RatingMatrix& ratings, NmfFactors& factors,
                                      const IterationControl& control) {
  check_nmf_factors(ratings, factors);
  ctx_.activate();
  const int k = static_cast<int>(factors.w.cols);
  const std::int64_t m = ratings.n_users();
  const std::int64_t n = ratings.n_movies();
  to_int32(ratings.nnz(), "the number of ratings");
  require_memory({CudaJob::nmf_zero, m, n, ratings.nnz(), k, 0, false}, "NMF (zero objective)");
  double norm_x = 0.0;
  for (const float v : ratings.by_user().values) norm_x += static_cast<double>(v) * v;

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
    launch_nmf_zero_update(ctx_.stream(), grid_w, w.data(), num.data(), den.data(), m * k, kMuEpsilon, sums.data());
    zero_users_.stop(ctx_.stream(), kUpdateAccesses * sizeof(float) * static_cast<double>(m * k));
    gram.run(w.data(), m, gw_d.data(), gw.data());
    // H^T <- H^T * (X^T W) / (H^T (W^T W))
    xm_w.run();
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
    // 0.5 ||X - W H||^2 = 0.5 (||X||^2 - 2 tr(W^T X H^T) + tr((W^T W)(H H^T))), as the CPU backend.
    const double loss = 0.5 * (norm_x - 2.0 * host_sums[1] + host_sums[2]);
    if (!std::isfinite(loss)) tracker.diverged("loss is " + std::to_string(loss));
    if (tracker.record(loss)) break;
  }
  w.download(factors.w.data);
  h.download(factors.ht.data);
  if (!all_finite(factors.w.data) || !all_finite(factors.ht.data)) tracker.diverged("a factor is not finite");
  return tracker.take();
}

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
  const double per_row = 2.0 * a.k * sizeof(float) + sizeof(std::int32_t) + (a.self_bias ? 2.0 * sizeof(float) : 0.0);
  return static_cast<double>(a.rows) * per_row + walks * static_cast<double>(nnz) * per_entry;
}

IterationLog CudaFactorizer::nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings,
                                        MaskedNmfState& state, const IterationControl& control) {
  check_nmf_factors(ratings, state.factors);
  if (!(settings.l2_user >= 0.0f) || !(settings.l2_movie >= 0.0f) || !(settings.l2_bias >= 0.0f)) {
    throw InvalidArgument("NMF L2 weights must be >= 0");
  }
  const int k = static_cast<int>(state.factors.w.cols);
  if (k > kCudaMaxMaskedRank) {
    throw InvalidArgument("the CUDA masked NMF supports rank <= " + std::to_string(kCudaMaxMaskedRank) + ", got " +
                          std::to_string(k));
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
  MaskedSideArgs user_side{xu.indptr.data(), xu.indices.data(), xu.values.data(),
                           h.data(), w.data(), settings.biases ? bm.data() : nullptr,
                           settings.biases ? bu.data() : nullptr, xu.rows, k, state.global_offset,
                           settings.l2_user, settings.l2_bias, settings.biases, kMuEpsilon, sums.data(),
                           nullptr, 0, kLongRowEntries};
  MaskedSideArgs movie_side{xm.indptr.data(), xm.indices.data(), xm.values.data(),
                            w.data(), h.data(), settings.biases ? bu.data() : nullptr,
                            settings.biases ? bm.data() : nullptr, xm.rows, k, state.global_offset,
                            settings.l2_movie, settings.l2_bias, true, kMuEpsilon, sums.data() + 3,
                            nullptr, 0, kLongRowEntries};
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
    const double loss = s[3] + settings.l2_user * s[1] + settings.l2_movie * s[4] + settings.l2_bias * (s[2] + s[5]);
    if (!std::isfinite(loss)) tracker.diverged("loss is " + std::to_string(loss));
    if (tracker.record(loss)) break;
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

// Householder QR of column-major rows x cols matrices (rows >= cols) in place: `a` becomes Q's first cols
// columns. The workspace is sized for every shape it will see (the users x l and movies x l bases).
class QrWorkspace {
 public:
  struct Shape {
    std::int64_t rows;
    float* probe;  // a device array of that shape (the buffer-size queries take one)
  };

  QrWorkspace(CudaContext& ctx, int cols, std::initializer_list<Shape> shapes) : ctx_(ctx), cols_(cols) {
    tau_ = DeviceBuffer<float>(static_cast<std::size_t>(cols), ctx.stream());
    for (const Shape& shape : shapes) {
      const int rows = static_cast<int>(shape.rows);
      int geqrf_lwork = 0;
      int orgqr_lwork = 0;
      CINEFACTOR_CUDA_CHECK(cusolverDnSgeqrf_bufferSize(ctx.cusolver(), rows, cols, shape.probe, rows, &geqrf_lwork));
      CINEFACTOR_CUDA_CHECK(cusolverDnSorgqr_bufferSize(ctx.cusolver(), rows, cols, cols, shape.probe, rows,
                                                        tau_.data(), &orgqr_lwork));
      lwork_ = std::max({lwork_, geqrf_lwork, orgqr_lwork});
    }
    work_ = DeviceBuffer<float>(static_cast<std::size_t>(lwork_), ctx.stream());
    info_ = DeviceBuffer<int>(1, ctx.stream());
  }

  // With rt_out (cols x cols, column-major, double): also R^T, taken between the factorization and the
  // formation of Q.
  void orthonormalize(float* a, std::int64_t rows, double* rt_out) {
    const int r = static_cast<int>(rows);
    CINEFACTOR_CUDA_CHECK(
        cusolverDnSgeqrf(ctx_.cusolver(), r, cols_, a, r, tau_.data(), work_.data(), lwork_, info_.data()));
    check_info("cusolverDnSgeqrf");
    if (rt_out) launch_transposed_triangle(ctx_.stream(), a, rows, cols_, rt_out);
    CINEFACTOR_CUDA_CHECK(
        cusolverDnSorgqr(ctx_.cusolver(), r, cols_, cols_, a, r, tau_.data(), work_.data(), lwork_, info_.data()));
    check_info("cusolverDnSorgqr");
  }

 private:
  // devInfo < 0 names an invalid parameter: a programming error, reported with the call.
  void check_info(const char* call) {
    int info = 0;
    info_.download(&info, 1);
    if (info != 0) throw CudaError(call, "devInfo " + std::to_string(info), "invalid parameter", __FILE__, __LINE__);
  }
  CudaContext& ctx_;
  int cols_;
  int lwork_ = 0;
  DeviceBuffer<float> tau_;
  DeviceBuffer<float> work_;
  DeviceBuffer<int> info_;
};

// The SVD of the small l x l matrix R^T on the device (cuSOLVER gesvd, double): the first k left and
// right singular vectors as float column-major l x k arrays, and the first k singular values.
struct SmallSvd {
  DeviceBuffer<float> ur;
  DeviceBuffer<float> vr;
  std::vector<float> sigma;
};

SmallSvd small_svd(CudaContext& ctx, DeviceBuffer<double>& rt, int l, int k) {
  const cudaStream_t stream = ctx.stream();
  const auto ll = static_cast<std::size_t>(l) * static_cast<std::size_t>(l);
  DeviceBuffer<double> s(static_cast<std::size_t>(l), stream);
  DeviceBuffer<double> u(ll, stream);
  DeviceBuffer<double> vt(ll, stream);
  DeviceBuffer<double> rwork(static_cast<std::size_t>(l), stream);
  DeviceBuffer<int> info(1, stream);
  int lwork = 0;
  CINEFACTOR_CUDA_CHECK(cusolverDnDgesvd_bufferSize(ctx.cusolver(), l, l, &lwork));
  DeviceBuffer<double> work(static_cast<std::size_t>(lwork), stream);
  signed char all = 'A';
  CINEFACTOR_CUDA_CHECK(cusolverDnDgesvd(ctx.cusolver(), all, all, l, l, rt.data(), l, s.data(), u.data(), l,
                                         vt.data(), l, work.data(), lwork, rwork.data(), info.data()));
  int status = 0;
  info.download(&status, 1);
  if (status < 0) {
    throw CudaError("cusolverDnDgesvd", "devInfo " + std::to_string(status), "invalid parameter", __FILE__, __LINE__);
  }
  if (status > 0) {
    throw Error("SVD: cuSOLVER gesvd did not converge (" + std::to_string(status) + " superdiagonals left)");
  }
  SmallSvd out{DeviceBuffer<float>(static_cast<std::size_t>(l) * k, stream),
               DeviceBuffer<float>(static_cast<std::size_t>(l) * k, stream), {}};
  launch_leading_columns(stream, u.data(), l, k, false, out.ur.data());
  launch_leading_columns(stream, vt.data(), l, k, true, out.vr.data());
  std::vector<double> sigma(static_cast<std::size_t>(l));
  s.download(sigma);
  out.sigma.assign(sigma.begin(), sigma.begin() + k);
  return out;
}

// Column-major rows x cols on the device -> row-major DenseMatrix on the host.
DenseMatrix download_transposed(const DeviceBuffer<float>& d, std::int64_t rows, std::int64_t cols) {
  std::vector<float> cm(static_cast<std::size_t>(rows * cols));
  d.download(cm);
  DenseMatrix out(rows, cols);
  for (std::int64_t c = 0; c < cols; ++c) {
    for (std::int64_t r = 0; r < rows; ++r) out(r, c) = cm[static_cast<std::size_t>(c * rows + r)];
  }
  return out;
}

SvdResult CudaFactorizer::truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) {
  const std::int64_t m = ratings.n_users();
  const std::int64_t n = ratings.n_movies();
  const std::int64_t smaller = std::min(m, n);
  check_svd_settings(ratings, settings);
  ctx_.activate();
  to_int32(ratings.nnz(), "the number of ratings");
  require_memory({CudaJob::svd, m, n, ratings.nnz(), settings.rank, settings.oversamples, false}, "randomized SVD");
  const int l = static_cast<int>(std::min<std::int64_t>(settings.rank + settings.oversamples, smaller));
  const int k = settings.rank;
  const float shift = settings.center ? static_cast<float>(ratings.global_mean()) : 0.0f;
  const DeviceCsr xu(ctx_, ratings.by_user(), shift);
  const DeviceCsr xm(ctx_, ratings.by_movie(), shift);

  DeviceBuffer<float> y(static_cast<std::size_t>(m * l), ctx_.stream());
  {
    // The CPU backend's Gaussian test matrix, bit for bit: row j from its own stream of the seed.
    std::vector<float> omega_cm(static_cast<std::size_t>(n * l));
    for (std::int64_t j = 0; j < n; ++j) {
      NormalGenerator gen(stream_seed(settings.seed, static_cast<std::uint64_t>(j)));
      for (int c = 0; c < l; ++c) omega_cm[static_cast<std::size_t>(c * n + j)] = static_cast<float>(gen.next());
    }
    DeviceBuffer<float> omega(omega_cm.size(), ctx_.stream());
    omega.upload(omega_cm);
    SpmmPlan first(ctx_, xu, omega.data(), y.data(), l, CUSPARSE_ORDER_COL);
    first.run();
  }
  DeviceBuffer<float> z(static_cast<std::size_t>(n * l), ctx_.stream());
  QrWorkspace qr(ctx_, l, {{m, y.data()}, {n, z.data()}});
  SpmmPlan xm_y(ctx_, xm, y.data(), z.data(), l, CUSPARSE_ORDER_COL);
  SpmmPlan xu_z(ctx_, xu, z.data(), y.data(), l, CUSPARSE_ORDER_COL);
  qr.orthonormalize(y.data(), m, nullptr);
  for (int i = 0; i < settings.power_iterations; ++i) {
    xm_y.run();
    qr.orthonormalize(z.data(), n, nullptr);
    xu_z.run();
    qr.orthonormalize(y.data(), m, nullptr);
  }
  // B = Q^T A (l x n); B^T = A^T Q = Q2 R, so B = R^T Q2^T and only the l x l matrix R^T needs an SVD.
  xm_y.run();
  DeviceBuffer<double> rt(static_cast<std::size_t>(l) * static_cast<std::size_t>(l), ctx_.stream());
  qr.orthonormalize(z.data(), n, rt.data());
  const SmallSvd small = small_svd(ctx_, rt, l, k);

  DeviceBuffer<float> u(static_cast<std::size_t>(m) * k, ctx_.stream());
  DeviceBuffer<float> v(static_cast<std::size_t>(n) * k, ctx_.stream());
  gemm_nn(ctx_, m, k, l, y.data(), small.ur.data(), u.data());
  gemm_nn(ctx_, n, k, l, z.data(), small.vr.data(), v.data());

  SvdResult out;
  out.offset = shift;
  out.u = download_transposed(u, m, k);
  out.v = download_transposed(v, n, k);
  out.sigma = small.sigma;
  // Signs as scikit-learn's svd_flip (u-based): the largest |entry| of each column of U is positive.
  for (int c = 0; c < k; ++c) {
    std::int64_t at = 0;
    float best = -1.0f;
    for (std::int64_t row = 0; row < m; ++row) {
      const float a = std::abs(out.u(row, c));
      if (a > best) {
        best = a;
        at = row;
      }
    }
    if (out.u(at, c) < 0.0f) {
      for (std::int64_t row = 0; row < m; ++row) out.u(row, c) = -out.u(row, c);
      for (std::int64_t row = 0; row < n; ++row) out.v(row, c) = -out.v(row, c);
    }
  }
  if (!all_finite(out.u.data) || !all_finite(out.v.data)) throw Error("SVD diverged: the factors are not finite");
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// DeviceCsr, SpmmPlan, KernelTimer

DeviceBuffer<std::int32_t> upload_offsets(CudaContext& ctx, const std::vector<std::int64_t>& indptr) {
  std::vector<std::int32_t> offsets(indptr.size());
  std::transform(indptr.begin(), indptr.end(), offsets.begin(),
                 [](std::int64_t v) { return static_cast<std::int32_t>(v); });
  DeviceBuffer<std::int32_t> d(offsets.size(), ctx.stream());
  d.upload(offsets);
  return d;
}

DeviceCsr::DeviceCsr(CudaContext& ctx, const SparseMatrix& x, float shift)
    : rows(x.rows),
      cols(x.cols),
      nnz(x.nnz()),
      indptr(upload_offsets(ctx, x.indptr)),
      indices(static_cast<std::size_t>(x.nnz()), ctx.stream()),
      values(static_cast<std::size_t>(x.nnz()), ctx.stream()) {
  to_int32(nnz, "the number of ratings");
  indices.upload(x.indices);
  if (shift == 0.0f) {
    values.upload(x.values);
  } else {
    std::vector<float> shifted(x.values.size());
    std::transform(x.values.begin(), x.values.end(), shifted.begin(), [shift](float v) { return v - shift; });
    values.upload(shifted);
  }
  CINEFACTOR_CUDA_CHECK(cusparseCreateConstCsr(&descr, rows, cols, nnz, indptr.data(), indices.data(), values.data(),
                                               CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO,
                                               CUDA_R_32F));
}

DeviceCsr::~DeviceCsr() {
  if (descr) static_cast<void>(cusparseDestroySpMat(descr));
}

SpmmPlan::SpmmPlan(CudaContext& ctx, const DeviceCsr& a, const float* b, float* c, std::int64_t width,
                   cusparseOrder_t order)
    : ctx_(ctx),
      a_(a),
      // The algorithms cuSPARSE documents as fastest for each dense layout (CSR ALG2: row-major, ALG1 through
      // the default: column-major). Neither is documented as bit-wise deterministic: GPU runs may differ
      // from one another in the last bits, like the atomics of the fused kernels.
      alg_(order == CUSPARSE_ORDER_ROW ? CUSPARSE_SPMM_CSR_ALG2 : CUSPARSE_SPMM_ALG_DEFAULT) {
  try {
    const std::int64_t ldb = order == CUSPARSE_ORDER_ROW ? width : a.cols;
    const std::int64_t ldc = order == CUSPARSE_ORDER_ROW ? width : a.rows;
    CINEFACTOR_CUDA_CHECK(cusparseCreateConstDnMat(&b_, a.cols, width, ldb, b, CUDA_R_32F, order));
    CINEFACTOR_CUDA_CHECK(cusparseCreateDnMat(&c_, a.rows, width, ldc, c, CUDA_R_32F, order));
    const float one = 1.0f;
    const float zero = 0.0f;
    std::size_t bytes = 0;
    CINEFACTOR_CUDA_CHECK(cusparseSpMM_bufferSize(ctx.cusparse(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                                  CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a.descr, b_, &zero, c_,
                                                  CUDA_R_32F, alg_, &bytes));
    buffer_ = DeviceBuffer<std::uint8_t>(bytes, ctx.stream());
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    destroy_descriptors();
    throw;
  }
}

void SpmmPlan::destroy_descriptors() noexcept {
  if (b_) static_cast<void>(cusparseDestroyDnMat(b_));
  if (c_) static_cast<void>(cusparseDestroyDnMat(c_));
  b_ = nullptr;
  c_ = nullptr;
}

SpmmPlan::~SpmmPlan() { destroy_descriptors(); }

void SpmmPlan::run() {
  const float one = 1.0f;
  const float zero = 0.0f;
  CINEFACTOR_CUDA_CHECK(cusparseSpMM(ctx_.cusparse(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                     CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a_.descr, b_, &zero, c_, CUDA_R_32F, alg_,
                                     buffer_.data()));
}

KernelTimer::KernelTimer(std::string name) { stats.name = std::move(name); }

KernelTimer::~KernelTimer() {
  if (begin_) static_cast<void>(cudaEventDestroy(begin_));
  if (end_) static_cast<void>(cudaEventDestroy(end_));
}

void KernelTimer::start(cudaStream_t stream, bool enabled) {
  recording_ = enabled;
  if (!enabled) return;
  if (!begin_) {
    CINEFACTOR_CUDA_CHECK(cudaEventCreate(&begin_));
    CINEFACTOR_CUDA_CHECK(cudaEventCreate(&end_));
  }
  CINEFACTOR_CUDA_CHECK(cudaEventRecord(begin_, stream));
}

void KernelTimer::stop(cudaStream_t stream, double bytes) {
  if (!recording_) return;
  CINEFACTOR_CUDA_CHECK(cudaEventRecord(end_, stream));
  stats.bytes += bytes;
  pending_ = true;
  recording_ = false;
}

void KernelTimer::collect() {
  if (!pending_) return;
  float ms = 0.0f;
  CINEFACTOR_CUDA_CHECK(cudaEventSynchronize(end_));
  CINEFACTOR_CUDA_CHECK(cudaEventElapsedTime(&ms, begin_, end_));
  constexpr double kSecondsPerMs = 1e-3;
  stats.seconds += ms * kSecondsPerMs;
  stats.launches += 1;
  pending_ = false;
}

}  // namespace cinefactor::engine::cuda

namespace cinefactor::engine {

std::unique_ptr<Factorizer> make_cuda_factorizer(int device) {
  return std::make_unique<cuda::CudaFactorizer>(device);
}

}  // namespace cinefactor::engine
