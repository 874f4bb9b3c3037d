// The count plan of a synthetic dataset: everything decided before any rating is drawn. The
// catalog, each user's activity window and exact rating count (lognormal activity scaled to the
// exact total with a largest-remainder correction, capped by the movies available to the user), and
// the seeding of every rated movie into one user's list so that each gets at least one rating.
#pragma once

#include <cstdint>

#include "cinefactor/synth.hpp"
#include "data/synth_catalog.hpp"

namespace cinefactor::synth {

struct PlannedDataset {
  SynthPlan plan;
  MovieModel model;  // the movie side of the taste model, aligned with plan.movies
};

// Builds the catalog of `preset` and plans the counts and the movie seeding. Throws InvalidArgument
// for sizes that cannot be met.
PlannedDataset plan_dataset(const SynthPreset& preset, std::uint64_t seed);

}  // namespace cinefactor::synth
