// Kernels shared by the CPU backend's algorithms: see cpu_backend.hpp.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "cpu_backend.hpp"

namespace cinefactor::engine::cpu {
namespace {

// CholeskyQR2 squares the condition number of its input in the first pass; beyond this the float
// result would not be orthonormal after the second pass, so Householder QR takes over.
constexpr double kCholeskyQrMaxCondition = 1e3;
// Rows per block when a dense matrix is cut into blocks (Gram matrices, triangular solves).
constexpr std::int64_t kDenseBlockRows = 512;

}  // namespace

RowBlocks make_row_blocks(const SparseMatrix& csr, std::int64_t row_weight) {
  RowBlocks blocks;
  const std::int64_t total = csr.nnz() + row_weight * csr.rows;
  const int count = std::max(1, std::min<int>(kMaxRowBlocks, csr.rows));
  blocks.starts.reserve(static_cast<std::size_t>(count) + 1);
  blocks.starts.push_back(0);
  std::int64_t done = 0;
  int next = 1;
  for (std::int32_t r = 0; r < csr.rows && next < count; ++r) {
    done += csr.row_nnz(r) + row_weight;
    if (done * count >= total * next) {
      blocks.starts.push_back(r + 1);
      ++next;
    }
  }
  if (blocks.starts.back() != csr.rows) blocks.starts.push_back(csr.rows);
  return blocks;
}

RowBlocks make_dense_blocks(std::int64_t rows) {
  RowBlocks blocks;
  for (std::int64_t r = 0; r < rows; r += kDenseBlockRows)
    blocks.starts.push_back(static_cast<std::int32_t>(r));
  blocks.starts.push_back(static_cast<std::int32_t>(rows));
  if (blocks.starts.size() == 1) blocks.starts.push_back(0);
  return blocks;
}

void row_times_square(const float* __restrict v, const float* __restrict g, std::int64_t k,
                      float* __restrict out) {
  for (std::int64_t f0 = 0; f0 < k; f0 += kAccumulatorTile) {
    const std::int64_t width = std::min(kAccumulatorTile, k - f0);
    float acc[kAccumulatorTile] = {};
    for (std::int64_t a = 0; a < k; ++a) {
      const float va = v[a];
      const float* __restrict ga = g + a * k + f0;
#pragma omp simd
      for (std::int64_t t = 0; t < width; ++t) acc[t] += va * ga[t];
    }
    std::copy(acc, acc + width, out + f0);
  }
}

void sparse_row_times_dense(const std::int32_t* indices, const float* values, std::int64_t count, float shift,
                            const float* __restrict b, std::int64_t c, float* __restrict out) {
  std::int64_t f0 = 0;
  for (; f0 + kAccumulatorTile <= c; f0 += kAccumulatorTile) {
    float acc[kAccumulatorTile] = {};
    for (std::int64_t e = 0; e < count; ++e) {
      if (e + kPrefetchDistance < count) {
        prefetch_row(b + static_cast<std::int64_t>(indices[e + kPrefetchDistance]) * c + f0,
                     kAccumulatorTile);
      }
      const float v = values[e] - shift;
      const float* __restrict br = b + static_cast<std::int64_t>(indices[e]) * c + f0;
#pragma omp simd
      for (std::int64_t t = 0; t < kAccumulatorTile; ++t) acc[t] += v * br[t];
    }
    std::copy(acc, acc + kAccumulatorTile, out + f0);
  }
  if (f0 == c) return;
  std::fill(out + f0, out + c, 0.0f);
  for (std::int64_t e = 0; e < count; ++e) {
    const float v = values[e] - shift;
    const float* __restrict br = b + static_cast<std::int64_t>(indices[e]) * c;
#pragma omp simd
    for (std::int64_t f = f0; f < c; ++f) out[f] += v * br[f];
  }
}

void spmm(const SparseMatrix& a, const RowBlocks& blocks, float shift, const DenseMatrix& b, DenseMatrix& out,
          int threads) {
  const std::int64_t c = b.cols;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int blk = 0; blk < blocks.count(); ++blk) {
    for (std::int32_t r = blocks.begin(blk); r < blocks.end(blk); ++r) {
      const auto begin = static_cast<std::size_t>(a.row_begin(r));
      sparse_row_times_dense(a.indices.data() + begin, a.values.data() + begin, a.row_nnz(r), shift,
                             b.data.data(), c, out.data.data() + static_cast<std::int64_t>(r) * c);
    }
  }
}

MatrixD gram(const DenseMatrix& m, const RowBlocks& blocks, int threads) {
  const auto mat = as_eigen(m);
  std::vector<MatrixD> partial(static_cast<std::size_t>(blocks.count()));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int blk = 0; blk < blocks.count(); ++blk) {
    const auto rows = mat.middleRows(blocks.begin(blk), blocks.end(blk) - blocks.begin(blk));
    Eigen::MatrixXf g = rows.transpose() * rows;
    partial[static_cast<std::size_t>(blk)] = g.cast<double>();
  }
  MatrixD total = MatrixD::Zero(m.cols, m.cols);
  for (const auto& p : partial) total += p;
  return total;
}

bool cholesky_factor(const MatrixD& g, MatrixD& r) {
  Eigen::LLT<MatrixD> llt(g);
  if (llt.info() != Eigen::Success) return false;
  r = llt.matrixU();
  const Eigen::VectorXd diag = r.diagonal().cwiseAbs();
  return diag.minCoeff() > 0.0 && diag.maxCoeff() / diag.minCoeff() <= kCholeskyQrMaxCondition;
}

void multiply(const DenseMatrix& a, const Eigen::MatrixXf& b, DenseMatrix& out, const RowBlocks& blocks,
              int threads) {
  const auto am = as_eigen(a);
  auto om = as_eigen(out);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int blk = 0; blk < blocks.count(); ++blk) {
    const auto begin = blocks.begin(blk);
    const auto len = blocks.end(blk) - begin;
    om.middleRows(begin, len).noalias() = am.middleRows(begin, len) * b;
  }
}

void multiply_by_inverse_upper(DenseMatrix& m, const RowBlocks& blocks, int threads, const MatrixD& r) {
  const MatrixD r_inv_d = r.triangularView<Eigen::Upper>().solve(MatrixD::Identity(m.cols, m.cols));
  const Eigen::MatrixXf r_inv = r_inv_d.cast<float>();
  auto mat = as_eigen(m);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int blk = 0; blk < blocks.count(); ++blk) {
    auto rows = mat.middleRows(blocks.begin(blk), blocks.end(blk) - blocks.begin(blk));
    RowMajorMatrixF product = rows * r_inv.triangularView<Eigen::Upper>();
    rows = product;
  }
}

namespace {

// One CholeskyQR pass: m <- m R^{-1} with G = m^T m = R^T R. Returns false (m untouched) when G is
// too ill-conditioned for the float result to be trusted.
bool cholesky_qr_pass(DenseMatrix& m, const RowBlocks& blocks, int threads, MatrixD& r) {
  if (!cholesky_factor(gram(m, blocks, threads), r)) return false;
  multiply_by_inverse_upper(m, blocks, threads, r);
  return true;
}

void householder_orthonormalize(DenseMatrix& m, MatrixD* r_out) {
  const Eigen::MatrixXf copy = as_eigen(m);
  Eigen::HouseholderQR<Eigen::MatrixXf> qr(copy);
  const Eigen::MatrixXf q = qr.householderQ() * Eigen::MatrixXf::Identity(m.rows, m.cols);
  as_eigen(m) = q;
  if (r_out) {
    *r_out = qr.matrixQR().topRows(m.cols).triangularView<Eigen::Upper>().toDenseMatrix().cast<double>();
  }
}

}  // namespace

void orthonormalize(DenseMatrix& m, const RowBlocks& blocks, int threads, MatrixD* r_out, int passes) {
  MatrixD r1;
  MatrixD r2;
  if (cholesky_qr_pass(m, blocks, threads, r1)) {
    if (passes < 2) {
      if (r_out) *r_out = r1;
      return;
    }
    if (cholesky_qr_pass(m, blocks, threads, r2)) {
      if (r_out) *r_out = r2 * r1;
      return;
    }
    // The first pass already left m well conditioned, so this is unreachable in exact arithmetic;
    // undo nothing and finish with Householder, composing the triangular factors.
    MatrixD rh;
    householder_orthonormalize(m, &rh);
    if (r_out) *r_out = rh * r1;
    return;
  }
  householder_orthonormalize(m, r_out);
}

bool all_finite(const DenseMatrix& m, int threads) {
  const std::int64_t n = static_cast<std::int64_t>(m.data.size());
  const float* d = m.data.data();
  int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) num_threads(threads)
  for (std::int64_t i = 0; i < n; ++i) bad |= std::isfinite(d[i]) ? 0 : 1;
  return bad == 0;
}

}  // namespace cinefactor::engine::cpu
