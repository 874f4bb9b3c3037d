// The Backend interface: everything that runs on a compute device, implemented by the CPU backend
// (cpu/, OpenMP + Eigen) and the CUDA backend (cuda/). It factorizes (NMF, both objectives; implicit ALS;
// randomized SVD) and ranks (the k best movies of many users at once). train() and the evaluation reach a
// backend through the device policy (device_policy.hpp), so neither knows which one ran; tests and benchmarks
// drive this interface directly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "cinefactor/train.hpp"
#include "engine/iteration.hpp"

namespace cinefactor::engine {

// W (users x k) and H transposed (movies x k), row-major: both sides keep an entity's k factors
// contiguous, so the sparse sweeps read one row per rating.
struct NmfFactors {
  DenseMatrix w;
  DenseMatrix ht;
};

struct MaskedNmfSettings {
  float l2_user = TrainOptions{}.l2_user;
  float l2_movie = TrainOptions{}.l2_movie;
  bool biases = false;
  float l2_bias = TrainOptions{}.l2_bias;
};

// Factors plus the bias terms of the masked objective (empty biases when not learned).
struct MaskedNmfState {
  NmfFactors factors;
  float global_offset = 0.0f;
  std::vector<float> user_bias;
  std::vector<float> movie_bias;
};

struct SvdSettings {
  int rank = 20;
  int oversamples = 10;
  int power_iterations = 4;
  bool center = false;
  std::uint64_t seed = 42;
};

// A = U diag(sigma) V^T (+ offset on observed entries when centered), columns of U and V orthonormal.
struct SvdResult {
  DenseMatrix u;             // users x rank
  DenseMatrix v;             // movies x rank
  std::vector<float> sigma;  // descending
  float offset = 0.0f;       // the global mean subtracted from observed ratings (0 when not centered)
};

// Implicit-feedback ALS (Hu, Koren, Volinsky 2008): ratings at or above positive_threshold are positive
// feedback with confidence 1 + alpha, every other (user, movie) pair a zero with confidence 1.
struct AlsSettings {
  float alpha = TrainOptions{}.alpha;
  float l2 = TrainOptions{}.als_l2;
  float positive_threshold = TrainOptions{}.positive_threshold;
  int cg_steps = TrainOptions{}.cg_steps;
};

// User factors X (users x k) and movie factors Y (movies x k), row-major.
struct AlsFactors {
  DenseMatrix users;
  DenseMatrix movies;
};

// The k best movies of many users: score(u, j) = <user_factors[u], movie_factors[j]> + movie_offset[j].
struct RankingJob {
  const DenseMatrix* user_factors = nullptr;   // users x rank, row-major (unused when rank is 0)
  const DenseMatrix* movie_factors = nullptr;  // movies x rank, row-major
  std::vector<float> movie_offset;             // per movie, added to the dot product (-inf: ranked last)
  const SparseMatrix* excluded = nullptr;      // by user: movies never ranked for that user
  std::vector<std::int32_t> users;             // the users to rank, in output order
  int k = 0;
  std::function<void(std::int64_t)> on_batch;  // after each batch, with the number of users it ranked
  // CPU backend: users scored together by one dense product (block x rank times rank x movies); each
  // thread holds one block of scores. The lists do not depend on it.
  int block_users = 64;
};

// Sums over the processes of a distributed fit, in place, for a backend that computes on a device: device
// memory, enqueued on the backend's stream (dist/ provides them through NCCL). Every process gets the same
// values.
class ProcessSums {
 public:
  virtual ~ProcessSums() = default;
  virtual void sum(float* device_values, std::int64_t count, void* stream) = 0;
  virtual void sum(double* device_values, std::int64_t count, void* stream) = 0;
  virtual double sum(double value) = 0;  // a host value
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "cpu" or "cuda:N (name)".
  virtual std::string device_description() const = 0;

  // scikit-learn's NMF(solver='mu', beta_loss='frobenius') on the zero-filled matrix, from `factors`.
  // Loss: 0.5 * ||X - W H||_F^2.
  virtual IterationLog nmf_zero(const RatingMatrix& ratings, NmfFactors& factors,
                                const IterationControl& control) = 0;
  // nmf_zero for one process of a distributed fit: `ratings` holds this process's users with every movie
  // column, factors.w their rows and factors.ht every movie's; `across` adds the partial sums of every
  // process (X^T W, W^T W, ||X||^2), so that every process updates the movie factors alike and the loss is
  // the whole matrix's. The CUDA backend implements it (dist/'s CUDA ranks); the CPU backend's ranks take
  // dist/'s own passes, and this throws InvalidArgument there.
  virtual IterationLog nmf_zero_across(const RatingMatrix& ratings, NmfFactors& factors,
                                       const IterationControl& control, ProcessSums& across);
  // Observed-entries NMF with L2 (Surprise's NMF, alternating sides), from `state`.
  // Loss: sum over observed (r - rhat)^2 + l2_user sum_u n_u |w_u|^2 + l2_movie sum_j n_j |h_j|^2
  //       (+ l2_bias (sum_u b_u^2 + sum_j b_j^2) with biases).
  virtual IterationLog nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings,
                                  MaskedNmfState& state, const IterationControl& control) = 0;
  // Implicit-feedback ALS from `factors`: each iteration solves every user's and then every movie's k x k
  // system by cg_steps conjugate-gradient steps warm-started from the current factors (Takacs, Pilaszy,
  // Tikk 2011; implicit's `cg` solver). Loss: engine/als_objective.hpp.
  virtual IterationLog implicit_als(const RatingMatrix& ratings, const AlsSettings& settings,
                                    AlsFactors& factors, const IterationControl& control) = 0;
  // Randomized truncated SVD (Halko, Martinsson, Tropp 2011).
  virtual SvdResult truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) = 0;

  // The k best movies of every listed user, best first (descending score, lower movie index first on
  // ties, NaN last: the order of top_k in metrics.hpp): users.size() x k movie indices, -1 after the
  // last candidate when a user has fewer than k.
  virtual std::vector<std::int32_t> rank_top_k(const RankingJob& job) = 0;
};

// Argument checks every backend makes before it starts; throw InvalidArgument naming what is wrong.
void check_nmf_factors(const RatingMatrix& ratings, const NmfFactors& factors);
void check_als_factors(const RatingMatrix& ratings, const AlsSettings& settings, const AlsFactors& factors);
void check_svd_settings(const RatingMatrix& ratings, const SvdSettings& settings);
void check_ranking_job(const RankingJob& job);

// threads: 0 = automatic (core/parallel.hpp: the cores other processes leave free).
std::unique_ptr<Backend> make_cpu_backend(int threads);
// The CUDA backend on device `device`, owning one context (stream + library handles) for its lifetime.
// Throws CudaError when the device cannot be initialized, Error when the build has no CUDA backend.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace cinefactor::engine
