// CudaBackend's randomized truncated SVD (Halko, Martinsson, Tropp 2011): the range finder's SpMMs on
// cuSPARSE, Householder QR (cuSOLVER geqrf/orgqr) for the bases, which stay column-major, and the small
// SVD on the device (cuSOLVER gesvd, double). The Gaussian test matrix is the CPU backend's, bit for bit.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "cuda_backend.hpp"
#include "dense_kernels.cuh"
#include "device_csr.hpp"
#include "device_ops.hpp"
#include "engine/random.hpp"

namespace cinefactor::engine::cuda {
namespace {

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
      CINEFACTOR_CUDA_CHECK(
          cusolverDnSgeqrf_bufferSize(ctx.cusolver(), rows, cols, shape.probe, rows, &geqrf_lwork));
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
    CINEFACTOR_CUDA_CHECK(cusolverDnSorgqr(ctx_.cusolver(), r, cols_, cols_, a, r, tau_.data(), work_.data(),
                                           lwork_, info_.data()));
    check_info("cusolverDnSorgqr");
  }

 private:
  // devInfo < 0 names an invalid parameter: a programming error, reported with the call.
  void check_info(const char* call) {
    int info = 0;
    info_.download(&info, 1);
    if (info != 0)
      throw CudaError(call, "devInfo " + std::to_string(info), "invalid parameter", __FILE__, __LINE__);
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
    throw CudaError("cusolverDnDgesvd", "devInfo " + std::to_string(status), "invalid parameter", __FILE__,
                    __LINE__);
  }
  if (status > 0) {
    throw Error("SVD: cuSOLVER gesvd did not converge (" + std::to_string(status) + " superdiagonals left)");
  }
  SmallSvd out{DeviceBuffer<float>(static_cast<std::size_t>(l) * k, stream),
               DeviceBuffer<float>(static_cast<std::size_t>(l) * k, stream),
               {}};
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

}  // namespace

SvdResult CudaBackend::truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) {
  const std::int64_t m = ratings.n_users();
  const std::int64_t n = ratings.n_movies();
  const std::int64_t smaller = std::min(m, n);
  check_svd_settings(ratings, settings);
  ctx_.activate();
  to_int32(ratings.nnz(), "the number of ratings");
  require_memory({CudaJob::svd, m, n, ratings.nnz(), settings.rank, settings.oversamples, false},
                 "randomized SVD");
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
      for (int c = 0; c < l; ++c)
        omega_cm[static_cast<std::size_t>(c * n + j)] = static_cast<float>(gen.next());
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
  if (!all_finite(out.u.data) || !all_finite(out.v.data))
    throw Error("SVD diverged: the factors are not finite");
  return out;
}

}  // namespace cinefactor::engine::cuda
