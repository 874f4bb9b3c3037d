// Where NMF starts, for both objectives and every backend: scikit-learn's `random` and `nndsvda`
// initializations and the scale fit of the masked objective.
#pragma once

#include <cstdint>

#include "cinefactor/rating_matrix.hpp"
#include "engine/backend.hpp"

namespace cinefactor::engine {

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

}  // namespace cinefactor::engine
