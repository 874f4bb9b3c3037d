// The two NMF objectives' shared arithmetic, used alike by the CPU and CUDA backends and by the
// recommender's fold-in: the multiplicative-update epsilon and the loss formulas.
#pragma once

#include <limits>

namespace cinefactor::engine {

// Multiplicative-update denominators never divide by zero: scikit-learn's EPSILON,
// np.finfo(np.float32).eps, replaces an exactly-zero denominator (zero objective) or is added to
// every denominator (masked objective, as in Surprise's NMF).
inline constexpr float kMuEpsilon = std::numeric_limits<float>::epsilon();

// Zero objective: 0.5 ||X - W H||_F^2 expanded so that it needs no dense product:
//   0.5 (||X||_F^2 - 2 <X, W H> + <W^T W, H H^T>).
inline double zero_nmf_loss(double x_norm_squared, double cross, double gram_product) noexcept {
  return 0.5 * (x_norm_squared - 2.0 * cross + gram_product);
}

// Masked objective: the squared error over observed ratings plus the L2 terms (each norm already weighted
// by the entity's rating count, as in Surprise's NMF) and the bias penalty.
struct MaskedLossTerms {
  double squared_error = 0.0;
  double user_norm = 0.0;   // sum_u n_u |w_u|^2
  double movie_norm = 0.0;  // sum_j n_j |h_j|^2
  double bias_norm = 0.0;   // sum_u b_u^2 + sum_j b_j^2
};

inline double masked_nmf_loss(const MaskedLossTerms& t, double l2_user, double l2_movie,
                              double l2_bias) noexcept {
  return t.squared_error + l2_user * t.user_norm + l2_movie * t.movie_norm + l2_bias * t.bias_norm;
}

}  // namespace cinefactor::engine
