// The implicit-ALS objective, in one place for both backends (Hu, Koren, Volinsky 2008):
//   L = sum over all (u, j) of c_uj (p_uj - <x_u, y_j>)^2 + l2 (|X|_F^2 + |Y|_F^2),
// p_uj = 1 and c_uj = 1 + alpha for a positive rating, p_uj = 0 and c_uj = 1 elsewhere. The sum over all
// users x movies pairs is never formed: with s = <x_u, y_j>,
//   L = sum over positives [c (1 - s)^2 - s^2] + trace((X^T X)(Y^T Y)) + l2 (trace(X^T X) + trace(Y^T Y)).
#pragma once

namespace cinefactor::engine {

// The confidence of a positive entry.
inline float als_confidence(float alpha) noexcept {
  return 1.0f + alpha;
}

// The contribution of one positive entry with prediction s to the first sum.
inline double als_positive_term(double confidence, double s) noexcept {
  const double e = 1.0 - s;
  return confidence * e * e - s * s;
}

// L from its parts: positives = the first sum, gram_product = trace((X^T X)(Y^T Y)), norm_x and norm_y the
// squared Frobenius norms.
inline double implicit_als_loss(double positives, double gram_product, double norm_x, double norm_y,
                                double l2) noexcept {
  return positives + gram_product + l2 * (norm_x + norm_y);
}

}  // namespace cinefactor::engine
