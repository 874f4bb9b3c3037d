// Where NMF starts, for both objectives and every backend: scikit-learn's `random` and `nndsvda`
// initializations and the scale fit of the masked objective.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "cinefactor/rating_matrix.hpp"
#include "engine/backend.hpp"

namespace cinefactor::engine {

// scikit-learn's `random` init: sqrt(mean / k) * |N(0, 1)| in every entry, mean = the mean of the
// zero-filled matrix (zero objective) or of the observed ratings (masked objective). Deterministic
// for a seed on every platform (own normal generator, not std::normal_distribution).
// With user_rows, W holds only those rows of the full users x rank matrix, each with the values it has
// there (a distributed fit's share of the users).
NmfFactors nmf_init_random(std::int32_t users, std::int32_t movies, int rank, double mean, std::uint64_t seed,
                           int threads = 0, const std::vector<std::int32_t>* user_rows = nullptr);

// scikit-learn's `nndsvda` init (Boutsidis & Gallopoulos 2008) from a truncated SVD of the
// zero-filled matrix; zeros are filled with `fill` (scikit-learn: the zero-filled matrix's mean).
// When svd.u holds only some of the users (a distributed fit), sum_over_users adds the per-user sums it is
// given over every user's holder.
NmfFactors nmf_init_nndsvda(const SvdResult& svd, double fill,
                            const std::function<void(std::span<double>)>& sum_over_users = {});

// Scale the factors by one positive constant so that <w_u, h_j> best fits (least squares) the observed
// r_uj - offset; the masked objective starts from there instead of from the zero-filled scale.
// With sum_over_users (a distributed fit: `ratings` holds some of the users), the two sums are added over
// every user's holder.
void fit_scale_to_observed(const RatingMatrix& ratings, float offset, NmfFactors& factors, int threads = 0,
                           const std::function<void(std::span<double>)>& sum_over_users = {});

}  // namespace cinefactor::engine
