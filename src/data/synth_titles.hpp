// Titles of synthetic movies, made from word lists and patterns the way MovieLens writes them: a
// leading article moves to the end ("Matrix, The"), so about a quarter carry a comma, a few quotes.
#pragma once

#include <string>

#include "data/synth_random.hpp"

namespace cinefactor::synth {

// A title without the "(YYYY)" suffix, drawn from `rng`.
std::string make_title(Rng& rng);

}  // namespace cinefactor::synth
