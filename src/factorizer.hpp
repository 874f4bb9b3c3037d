// The factorizer interface every compute backend implements (CPU now; a CUDA backend implements the
// same calls later), plus the backend-neutral pieces around it: NMF initialization and the
// per-iteration bookkeeping (loss history, callback, early stop, divergence check).
// Internal to the library: train() is the public entry point; tests use this header to start a
// factorization from given factors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "cinefactor/train.hpp"

namespace cinefactor::engine {

// Multiplicative-update denominators never divide by zero: scikit-learn's EPSILON,
// np.finfo(np.float32).eps, replaces an exactly-zero denominator (zero objective) or is added to
// every denominator (masked objective, as in Surprise's NMF).
inline constexpr float kMuEpsilon = 1.1920929e-07f;

// Iteration budget and reporting shared by the iterative algorithms.
struct IterationControl {
  int max_iterations = 200;
  double tolerance = TrainOptions{}.tolerance;  // relative loss change that stops the loop; 0 = run max_iterations
  std::function<void(const IterationInfo&)> on_iteration;
};

struct IterationLog {
  std::vector<double> loss_history;
  int iterations = 0;
};

// Records one iteration's loss, calls the callback, and says whether to stop. Throws Error
// ("diverged at iteration N") when the loss is not finite.
class IterationTracker {
 public:
  explicit IterationTracker(const IterationControl& control);
  // Returns true when the loop should stop after this iteration.
  bool record(double loss);
  // Throws Error("diverged at iteration N: what"), N = the iteration in progress (not yet recorded).
  [[noreturn]] void diverged(const std::string& what) const;
  int iteration() const noexcept { return log_.iterations; }
  IterationLog take() { return std::move(log_); }

 private:
  const IterationControl& control_;
  IterationLog log_;
  double start_seconds_;
};

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
  DenseMatrix u;  // users x rank
  DenseMatrix v;  // movies x rank
  std::vector<float> sigma;  // descending
  float offset = 0.0f;       // the global mean subtracted from observed ratings (0 when not centered)
};

class Factorizer {
 public:
  virtual ~Factorizer() = default;
  // "cpu" or "cuda:N (name)".
  virtual std::string device_description() const = 0;
  // scikit-learn's NMF(solver='mu', beta_loss='frobenius') on the zero-filled matrix, from `factors`.
  // Loss: 0.5 * ||X - W H||_F^2.
  virtual IterationLog nmf_zero(const RatingMatrix& ratings, NmfFactors& factors,
                                const IterationControl& control) = 0;
  // Observed-entries NMF with L2 (Surprise's NMF, alternating sides), from `state`.
  // Loss: sum over observed (r - rhat)^2 + l2_user sum_u n_u |w_u|^2 + l2_movie sum_j n_j |h_j|^2
  //       (+ l2_bias (sum_u b_u^2 + sum_j b_j^2) with biases).
  virtual IterationLog nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings,
                                  MaskedNmfState& state, const IterationControl& control) = 0;
  // Randomized truncated SVD (Halko, Martinsson, Tropp 2011).
  virtual SvdResult truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) = 0;
};

// Argument checks every backend makes before it starts; throw InvalidArgument naming what is wrong.
void check_nmf_factors(const RatingMatrix& ratings, const NmfFactors& factors);
void check_svd_settings(const RatingMatrix& ratings, const SvdSettings& settings);

// threads: 0 = all cores.
std::unique_ptr<Factorizer> make_cpu_factorizer(int threads);

// scikit-learn's `random` init: sqrt(mean / k) * |N(0, 1)| in every entry, mean = the mean of the
// zero-filled matrix (zero objective) or of the observed ratings (masked objective). Deterministic
// for a seed on every platform (own normal generator, not std::normal_distribution).
NmfFactors nmf_init_random(std::int32_t users, std::int32_t movies, int rank, double mean, std::uint64_t seed,
                           int threads = 0);

// scikit-learn's `nndsvda` init (Boutsidis & Gallopoulos 2008) from a truncated SVD of the
// zero-filled matrix; zeros are filled with `fill` (scikit-learn: the zero-filled matrix's mean).
NmfFactors nmf_init_nndsvda(const SvdResult& svd, double fill);

// Scale the factors by one positive constant so that <w_u, h_j> best fits (least squares) the observed
// r_uj - offset; the masked objective starts from there instead of from the zero-filled scale.
void fit_scale_to_observed(const RatingMatrix& ratings, float offset, NmfFactors& factors, int threads = 0);

// An independent 64-bit seed for stream `stream` of `seed` (splitmix64 finalizer): per-row random
// streams that do not depend on the thread count.
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) noexcept;

// Deterministic standard normal samples from a seed (splitmix64 + Box-Muller), platform independent.
class NormalGenerator {
 public:
  explicit NormalGenerator(std::uint64_t seed) : state_(seed) {}
  double next();

 private:
  std::uint64_t next_bits();
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Baselines (backend neutral: closed form or a few O(nnz) sweeps).
Model train_mean(const RatingMatrix& ratings);
Model train_popularity(const RatingMatrix& ratings);
// Regularized user + movie biases by alternating exact minimization of
//   sum (r - mu - b_u - b_j)^2 + l2 (sum b_u^2 + sum b_j^2).
Model train_bias(const RatingMatrix& ratings, float l2, const IterationControl& control, IterationLog* log);

// The thread count an OpenMP region uses for `threads` (0 = all cores).
int resolve_threads(int threads) noexcept;

}  // namespace cinefactor::engine
