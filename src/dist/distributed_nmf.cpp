// NMF by multiplicative updates over a 1D partition by users (see factorization.hpp): the passes of the
// CPU backend (cpu/nmf.cpp) with the user side local and the movie side's sums over users reduced.
#include <Eigen/Dense>

#include "cinefactor/error.hpp"
#include "cpu/cpu_backend.hpp"
#include "dist/factorization.hpp"
#include "dist/replicated.hpp"
#include "engine/nmf_objective.hpp"

namespace cinefactor::dist {
namespace {

using engine::cpu::MatrixD;
using engine::cpu::RowBlocks;

// Row weight for load balancing, as the CPU backend's (cpu/nmf.cpp).
constexpr std::int64_t kRowWeightDivisor = 2;

void sum_matrix(Communicator& comm, MatrixD& g) {
  comm.sum(std::span<double>(g.data(), static_cast<std::size_t>(g.size())));
}

// The rows [begin, end) in equal blocks (the CPU backend's dense blocking, shifted to begin).
RowBlocks blocks_between(std::int64_t begin, std::int64_t end) {
  RowBlocks blocks = engine::cpu::make_dense_blocks(end - begin);
  for (auto& s : blocks.starts) s += static_cast<std::int32_t>(begin);
  return blocks;
}

// Gram matrix of the rows [begin, end) of m, summed over the ranks (each passing its own rows).
MatrixD summed_gram(Communicator& comm, const DenseMatrix& m, std::int64_t begin, std::int64_t end,
                    int threads) {
  MatrixD g = engine::cpu::gram(m, blocks_between(begin, end), threads);
  sum_matrix(comm, g);
  return g;
}

double squared_norm(const SparseMatrix& x) {
  double s = 0.0;
  for (const float v : x.values) s += static_cast<double>(v) * v;
  return s;
}

// The movie rows this rank updates in a movie-side pass, and their offsets on every rank.
struct MovieRows {
  std::vector<std::int64_t> offsets;
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

MovieRows movie_rows(const Communicator& comm, std::int64_t n) {
  MovieRows rows;
  rows.offsets = row_blocks_of_ranks(n, comm.size());
  rows.begin = rows.offsets[static_cast<std::size_t>(comm.rank())];
  rows.end = rows.offsets[static_cast<std::size_t>(comm.rank()) + 1];
  return rows;
}

}  // namespace

engine::IterationLog distributed_nmf_zero(Communicator& comm, const Partition& part,
                                          engine::NmfFactors& factors,
                                          const engine::IterationControl& control, int threads) {
  const auto& xu = part.data.ratings.by_user();
  const auto& xm = part.data.ratings.by_movie();
  const std::int64_t k = factors.w.cols;
  const std::int64_t n = part.n_movies();
  if (factors.w.rows != xu.rows || factors.ht.rows != n || factors.ht.cols != k)
    throw InvalidArgument("distributed NMF: factors do not match the partition");
  const RowBlocks user_blocks = engine::cpu::make_row_blocks(xu, k / kRowWeightDivisor);
  const RowBlocks movie_blocks = engine::cpu::make_row_blocks(xm, k / kRowWeightDivisor);
  const MovieRows mine = movie_rows(comm, n);
  const RowBlocks my_movie_blocks = blocks_between(mine.begin, mine.end);
  double norm_x[1] = {squared_norm(xu)};
  comm.sum(norm_x);

  MatrixD hht = summed_gram(comm, factors.ht, mine.begin, mine.end, threads);
  DenseMatrix numerators(n, k);
  const auto element_offsets = scaled(mine.offsets, k);
  std::vector<float> my_numerators(static_cast<std::size_t>((mine.end - mine.begin) * k));
  engine::IterationTracker tracker(control);
  while (true) {
    // Users: local rows, the replicated H and H H^T.
    const Eigen::MatrixXf hht_f = hht.cast<float>();
    engine::cpu::ZeroSide w_side =
        engine::cpu::mu_zero_side(xu, user_blocks, factors.ht, hht_f, factors.w, threads);
    sum_matrix(comm, w_side.self_gram);
    // Movies: X^T W summed over the ranks, each rank updating its block of movie rows.
    engine::cpu::spmm(xm, movie_blocks, 0.0f, factors.w, numerators, threads);
    comm.reduce_scatter_sum(numerators.data, my_numerators, element_offsets);
    const Eigen::MatrixXf wtw_f = w_side.self_gram.cast<float>();
    engine::cpu::ZeroSide h_side =
        engine::cpu::mu_zero_side(xm, my_movie_blocks, factors.w, wtw_f, factors.ht, threads,
                                  my_numerators.data(), static_cast<std::int32_t>(mine.begin));
    gather_replicated(comm, factors.ht, mine.offsets);
    sum_matrix(comm, h_side.self_gram);
    hht = h_side.self_gram;
    double cross[1] = {h_side.cross};
    comm.sum(cross);
    if (tracker.record(engine::zero_nmf_loss(norm_x[0], cross[0], w_side.self_gram.cwiseProduct(hht).sum())))
      break;
  }
  if (!engine::cpu::all_finite(factors.w, threads) || !engine::cpu::all_finite(factors.ht, threads))
    tracker.diverged("a factor is not finite");
  return tracker.take();
}

engine::IterationLog distributed_nmf_masked(Communicator& comm, const Partition& part,
                                            const engine::MaskedNmfSettings& settings,
                                            engine::MaskedNmfState& state,
                                            const engine::IterationControl& control, int threads) {
  const auto& xu = part.data.ratings.by_user();
  const auto& xm = part.data.ratings.by_movie();
  auto& f = state.factors;
  const std::int64_t k = f.w.cols;
  const std::int64_t n = part.n_movies();
  if (f.w.rows != xu.rows || f.ht.rows != n || f.ht.cols != k)
    throw InvalidArgument("distributed NMF: factors do not match the partition");
  if (!(settings.l2_user >= 0.0f) || !(settings.l2_movie >= 0.0f) || !(settings.l2_bias >= 0.0f))
    throw InvalidArgument("NMF L2 weights must be >= 0");
  if (settings.biases) {
    state.user_bias.resize(static_cast<std::size_t>(xu.rows), 0.0f);
    state.movie_bias.resize(static_cast<std::size_t>(n), 0.0f);
  } else {
    state.user_bias.clear();
    state.movie_bias.clear();
  }
  const RowBlocks user_blocks = engine::cpu::make_row_blocks(xu, k / kRowWeightDivisor);
  const MovieRows mine = movie_rows(comm, n);
  const std::int64_t my_rows = mine.end - mine.begin;
  const float* user_bias = settings.biases ? state.user_bias.data() : nullptr;

  engine::cpu::MaskedSideInput user_side{&xu,
                                         &user_blocks,
                                         &f.ht,
                                         &f.w,
                                         &state.movie_bias,
                                         &state.user_bias,
                                         state.global_offset,
                                         settings.l2_user,
                                         settings.l2_bias,
                                         settings.biases,
                                         false};
  // Per movie row, numerator and denominator side by side (2k), so each rank's block of rows is contiguous.
  DenseMatrix sums(n, 2 * k);
  std::vector<float> my_sums(static_cast<std::size_t>(my_rows * 2 * k));
  std::vector<double> residuals(static_cast<std::size_t>(2 * n));
  std::vector<double> my_residuals(static_cast<std::size_t>(2 * my_rows));
  std::vector<float> bias_values(settings.biases ? static_cast<std::size_t>(n) : 0);
  engine::IterationTracker tracker(control);
  while (true) {
    const engine::cpu::MaskedSide u = engine::cpu::mu_masked_side(user_side, threads);

    // Movies, pass 1: the numerator and denominator sums over every rank's users; each rank updates its rows.
    const float* w = f.w.data.data();
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
    for (std::int32_t j = 0; j < static_cast<std::int32_t>(n); ++j) {
      const float row_base =
          settings.biases ? state.global_offset + state.movie_bias[static_cast<std::size_t>(j)] : 0.0f;
      float* row = sums.row(j).data();
      engine::cpu::masked_row_sums(xm, j, f.ht.row(j).data(), w, k, row_base, user_bias, row, row + k);
    }
    comm.reduce_scatter_sum(sums.data, my_sums, scaled(mine.offsets, 2 * k));
    double movie_norm = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : movie_norm) num_threads(threads)
    for (std::int64_t i = 0; i < my_rows; ++i) {
      const std::int64_t j = mine.begin + i;
      float* s = f.ht.row(j).data();
      const float* num = my_sums.data() + i * 2 * k;
      const float* den = num + k;
      const auto count = static_cast<float>(part.movie_counts[static_cast<std::size_t>(j)]);
      const float reg = settings.l2_movie * count;
      float norm = 0.0f;
      for (std::int64_t c = 0; c < k; ++c) {
        s[c] *= num[c] / (den[c] + reg * s[c] + engine::kMuEpsilon);
        norm += s[c] * s[c];
      }
      movie_norm += static_cast<double>(count) * norm;
    }
    gather_replicated(comm, f.ht, mine.offsets);

    // Movies, pass 2: residual sums over every rank's users for the bias refit and the squared error.
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
    for (std::int32_t j = 0; j < static_cast<std::int32_t>(n); ++j) {
      double sum = 0.0;
      double sum_sq = 0.0;
      engine::cpu::masked_row_residuals(xm, j, f.ht.row(j).data(), w, k,
                                        settings.biases ? state.global_offset : 0.0f, user_bias, sum, sum_sq);
      residuals[static_cast<std::size_t>(2 * j)] = sum;
      residuals[static_cast<std::size_t>(2 * j + 1)] = sum_sq;
    }
    comm.reduce_scatter_sum(residuals, my_residuals, scaled(mine.offsets, 2));
    double sse = 0.0;
    double bias_norm = 0.0;
    for (std::int64_t i = 0; i < my_rows; ++i) {
      const std::int64_t j = mine.begin + i;
      const double sum = my_residuals[static_cast<std::size_t>(2 * i)];
      const double sum_sq = my_residuals[static_cast<std::size_t>(2 * i + 1)];
      const auto count = static_cast<double>(part.movie_counts[static_cast<std::size_t>(j)]);
      double b = 0.0;
      if (settings.biases) {
        const double denom = count + settings.l2_bias;
        b = denom > 0.0 ? sum / denom : 0.0;
        bias_values[static_cast<std::size_t>(j)] = static_cast<float>(b);
        bias_norm += b * b;
      }
      sse += sum_sq - 2.0 * b * sum + count * b * b;
    }
    if (settings.biases) {
      comm.all_gather(bias_values, mine.offsets);
      state.movie_bias = bias_values;
    }
    double terms[5] = {sse, u.weighted_norm, movie_norm, u.bias_norm + bias_norm, 0.0};
    comm.sum(terms);
    const engine::MaskedLossTerms loss{terms[0], terms[1], terms[2], terms[3]};
    if (tracker.record(engine::masked_nmf_loss(loss, settings.l2_user, settings.l2_movie, settings.l2_bias)))
      break;
  }
  if (!engine::cpu::all_finite(f.w, threads) || !engine::cpu::all_finite(f.ht, threads))
    tracker.diverged("a factor is not finite");
  return tracker.take();
}

}  // namespace cinefactor::dist
