// Drawing the synthetic ratings, user by user: each user's taste (genres, eras, free factors, bias),
// which movies they rate (popularity draws kept with probability sigmoid(sharpness * taste), only
// among movies released by their last day), the raw score and the time of each rating; and the
// calibration that maps raw scores to half stars at the quantiles of the target histogram.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "cinefactor/synth.hpp"
#include "data/synth_catalog.hpp"
#include "data/synth_random.hpp"

namespace cinefactor::synth {

struct UserTaste {
  std::array<float, kGenres> genre{};
  std::array<float, kEras> era{};
  std::vector<float> free;
  float bias = 0.0f;
};

// One rating of the user being drawn: the movie (index into the plan's movies), its raw score and time.
struct Pick {
  std::int32_t movie;
  float score;
  std::uint32_t time;
};

// Per-thread scratch space.
struct Workspace {
  std::vector<std::int32_t> stamp;  // stamp[movie] == user + 1 when the user already has it
  std::vector<Pick> picks;
  std::vector<std::pair<double, std::int32_t>> keys;
  UserTaste taste;
};

class Generator {
 public:
  // Keeps a reference to `plan`, which must outlive the generator.
  Generator(const SynthPlan& plan, MovieModel model);

  void init_workspace(Workspace& ws) const;
  // Draws user `u`'s (0-based) movies, scores and times into ws.picks, sorted by movie. Each user's
  // draws come from generators seeded by (seed, stream, user): independent of threads and order.
  void draw_user(std::size_t u, Workspace& ws) const;

 private:
  std::int64_t release(std::int32_t k) const;
  void prefetch_movie(const Workspace& ws, std::int32_t k) const;
  void make_taste(std::size_t u, UserTaste& t) const;
  float taste_of(const UserTaste& t, std::int32_t k) const;
  double keep_probability(float taste) const;

  const SynthPlan& plan_;
  const SynthModelParams& m_;
  MovieModel mm_;
  std::size_t nf_;
  std::vector<std::int32_t> rated_;  // rated movies sorted by release
  int first_year_ = 0;
  std::vector<std::size_t> pool_size_;  // per year from first_year_: rated movies released by its end
  std::vector<AliasTable> pools_;       // per year: draws an index into that prefix of rated_
};

// The raw-score thresholds between consecutive half-star levels: the quantiles of the plan's target
// histogram over the scores of a fixed sample of users (quantile mapping).
std::array<float, kHalfStarLevels - 1> calibrate(const Generator& gen, const SynthPlan& plan, int threads);

}  // namespace cinefactor::synth
