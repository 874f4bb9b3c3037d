// The CPU backend (OpenMP + Eigen): the Backend interface (nmf.cpp, als.cpp, svd.cpp, ranking.cpp) and the
// kernels its algorithms share (kernels.cpp): sparse x dense products over the CSR views, Gram
// matrices, orthonormalization.
//
// Determinism: rows are cut into a fixed number of blocks balanced by work, independent of the
// thread count; every row is computed by one thread in a fixed order and reductions go through
// per-block partials summed in block order. Results are bit-identical for a given seed whatever the
// number of threads.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/parallel.hpp"
#include "engine/backend.hpp"

namespace cinefactor::engine::cpu {

using RowMajorMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixD = Eigen::MatrixXd;
using MapF = Eigen::Map<RowMajorMatrixF>;
using ConstMapF = Eigen::Map<const RowMajorMatrixF>;

inline MapF as_eigen(DenseMatrix& m) {
  return {m.data.data(), m.rows, m.cols};
}
inline ConstMapF as_eigen(const DenseMatrix& m) {
  return {m.data.data(), m.rows, m.cols};
}

// Width of the register-resident accumulator tiles in the sparse x dense kernels: 64 floats are 8 AVX
// registers, so at k = 64 a row's partial sums stay in registers while its ratings stream by.
inline constexpr std::int64_t kAccumulatorTile = 64;
// The sweeps gather one factor row per rating at random: latency bound. Prefetching the row this many
// ratings ahead keeps several misses in flight.
inline constexpr std::int64_t kPrefetchDistance = 8;
inline constexpr std::int64_t kCacheLineFloats = 16;

// Asks for the cache lines of `count` floats at p (a hint; never faults).
inline void prefetch_row(const float* p, std::int64_t count) {
  for (std::int64_t i = 0; i < count; i += kCacheLineFloats) __builtin_prefetch(p + i);
}

// out[0..c) = sum_e (values[e] - shift) * b[indices[e]][0..c), b row-major with c columns.
void sparse_row_times_dense(const std::int32_t* indices, const float* values, std::int64_t count, float shift,
                            const float* b, std::int64_t c, float* out);

// out[0..k) = v[0..k) * g for a k x k row-major g (v^T g; g v for a symmetric g), tile by tile with the
// partial sums in registers (g stays in L1 for the ranks used here).
void row_times_square(const float* v, const float* g, std::int64_t k, float* out);

// Below this many ratings per thread, waking more threads costs more than it saves. Results do not
// depend on the thread count, so capping it changes only the speed.
inline constexpr std::int64_t kMinRatingsPerThread = 20000;

// Upper bound on the blocks one pass is cut into: enough for load balance on many cores, few enough
// that per-block k x k partials stay small.
inline constexpr int kMaxRowBlocks = 256;

// Contiguous row ranges of a CSR matrix with roughly equal cost nnz(row) + row_weight each.
struct RowBlocks {
  std::vector<std::int32_t> starts;  // blocks + 1 boundaries
  int count() const noexcept { return static_cast<int>(starts.size()) - 1; }
  std::int32_t begin(int b) const noexcept { return starts[static_cast<std::size_t>(b)]; }
  std::int32_t end(int b) const noexcept { return starts[static_cast<std::size_t>(b) + 1]; }
};
RowBlocks make_row_blocks(const SparseMatrix& csr, std::int64_t row_weight);
// Equal-size blocks of a dense matrix's rows.
RowBlocks make_dense_blocks(std::int64_t rows);

// out = (A - shift on the stored entries) * b, A in CSR (rows x cols), b (cols x c), out (rows x c).
void spmm(const SparseMatrix& a, const RowBlocks& blocks, float shift, const DenseMatrix& b, DenseMatrix& out,
          int threads);

// G = M^T M in double, summed block by block in a fixed order.
MatrixD gram(const DenseMatrix& m, const RowBlocks& blocks, int threads);

// Replaces the columns of m (rows x c, rows >= c) by an orthonormal basis of their span, returning
// R with m_in = Q R. CholeskyQR2 (two passes of Gram + Cholesky in double, both parallel); falls back
// to Householder QR when the Gram matrix is numerically singular (rank-deficient input).
// passes = 1 is enough between power iterations, where only the span matters (scikit-learn uses LU there).
void orthonormalize(DenseMatrix& m, const RowBlocks& blocks, int threads, MatrixD* r_out = nullptr,
                    int passes = 2);

// The pieces of one CholeskyQR pass, for a matrix whose rows are spread over the ranks of a distributed
// fit (each holds some rows; G is summed over them): the upper Cholesky factor R of G = R^T R, false when G
// is too ill-conditioned for a float result to be trusted; then m <- m R^{-1} on the rows of `blocks`.
bool cholesky_factor(const MatrixD& g, MatrixD& r);
void multiply_by_inverse_upper(DenseMatrix& m, const RowBlocks& blocks, int threads, const MatrixD& r);

// out = a * b (a: rows x l, b: l x c), row blocks in parallel.
void multiply(const DenseMatrix& a, const Eigen::MatrixXf& b, DenseMatrix& out, const RowBlocks& blocks,
              int threads);

// True when every value is finite.
bool all_finite(const DenseMatrix& m, int threads);

// ---- The multiplicative-update passes of NMF (nmf.cpp), also the per-rank steps of distributed NMF ----

struct ZeroSide {
  MatrixD self_gram;   // of the updated factors
  double cross = 0.0;  // sum over rows of <X other, self_new>
};

// One multiplicative update of `self` (the rows of x) given `other` (the columns of x) and other^T other,
// as scikit-learn's _multiplicative_update_w: self *= (X other) / (self (other^T other)), a zero
// denominator -> EPSILON. Only the rows of `blocks` are updated (and counted in self_gram and cross).
// With `numerators`, row r's X other is read from numerators + (r - first_row) * k (a sum over the ranks of
// a distributed fit) instead of being computed from x.
ZeroSide mu_zero_side(const SparseMatrix& x, const RowBlocks& blocks, const DenseMatrix& other,
                      const Eigen::MatrixXf& other_gram, DenseMatrix& self, int threads,
                      const float* numerators = nullptr, std::int32_t first_row = 0);

// What a masked pass adds to the loss.
struct MaskedSide {
  double sse = 0.0;            // squared errors of the updated rows (computed only when asked)
  double weighted_norm = 0.0;  // sum over rows of n_row * |self_row|^2
  double bias_norm = 0.0;      // sum of squared biases of this side
};

struct MaskedSideInput {
  const SparseMatrix* x;
  const RowBlocks* blocks;
  const DenseMatrix* other;
  DenseMatrix* self;
  const std::vector<float>* other_bias;  // empty without biases
  std::vector<float>* self_bias;         // empty without biases
  float offset = 0.0f;
  float l2 = 0.0f;
  float l2_bias = 0.0f;
  bool biases = false;
  bool want_sse = false;
};

// One multiplicative update of every row of `self` from the observed entries only (nmf.cpp).
MaskedSide mu_masked_side(const MaskedSideInput& in, int threads);

// The sums of one row r of x for a masked update, target y_e = r_e - row_base - other_bias[col] (no
// other_bias when null): num = sum_e max(y_e, 0) o_e, den = sum_e (<s, o_e> + max(-y_e, 0)) o_e; o_e is
// row col_e of `other` (k columns).
void masked_row_sums(const SparseMatrix& x, std::int32_t r, const float* s, const float* other,
                     std::int64_t k, float row_base, const float* other_bias, float* num, float* den);
// Adds to sum and sum_sq the residuals r_e - <s, o_e> - (offset + other_bias[col], with other_bias only)
// of row r of x.
void masked_row_residuals(const SparseMatrix& x, std::int32_t r, const float* s, const float* other,
                          std::int64_t k, float offset, const float* other_bias, double& sum, double& sum_sq);

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);
  std::string device_description() const override { return "cpu"; }
  IterationLog nmf_zero(const RatingMatrix& ratings, NmfFactors& factors,
                        const IterationControl& control) override;
  IterationLog nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings,
                          MaskedNmfState& state, const IterationControl& control) override;
  IterationLog implicit_als(const RatingMatrix& ratings, const AlsSettings& settings, AlsFactors& factors,
                            const IterationControl& control) override;
  SvdResult truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) override;
  std::vector<std::int32_t> rank_top_k(const RankingJob& job) override;

 private:
  // Asked before every pass, so an automatic count follows the load (core/parallel.hpp).
  int threads_for(std::int64_t nnz) const noexcept {
    return static_cast<int>(std::max<std::int64_t>(
        1, std::min<std::int64_t>(resolve_threads(threads_), nnz / kMinRatingsPerThread)));
  }
  int threads_;  // as asked: 0 = automatic
};

}  // namespace cinefactor::engine::cpu
