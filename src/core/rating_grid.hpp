// The one rule for a rating a person types or sends: a number from `min` to `max` on a grid of `step`s
// (MovieLens half stars: 0.5, 1, ..., 5), with the one message that refuses it. The CLI's --rate, the
// web API's ratings, the rating form's sliders and the recommender's scale check all use it.
#pragma once

#include <string>
#include <string_view>

namespace cinefactor {

struct RatingGrid {
  float min = 0.5f;
  float max = 5.0f;
  float step = 0.5f;  // 0: any value from min to max
};

// What visitors rate on, in the CLI and in the web app: MovieLens half stars.
inline constexpr RatingGrid kHalfStars{0.5f, 5.0f, 0.5f};

// `rating` is from grid.min to grid.max and, when grid.step > 0, grid.min plus a whole number of steps
// (exactly: half stars are exact in binary). NaN and infinities are off every grid.
bool on_rating_grid(double rating, const RatingGrid& grid) noexcept;

// "a rating from 0.5 to 5 in steps of 0.5" ("a rating from 0.5 to 5" when the step is 0).
std::string describe_rating_grid(const RatingGrid& grid);

// "WHAT: expected a rating from 0.5 to 5 in steps of 0.5, got GOT": the one message for an off-grid rating.
std::string rating_grid_error(std::string_view what, const RatingGrid& grid, std::string_view got);

// Throws InvalidArgument(rating_grid_error(what, grid, got)) unless on_rating_grid(rating, grid). `got` is
// what the person typed or sent (empty: the value itself).
void check_rating(double rating, const RatingGrid& grid, std::string_view what, std::string_view got = {});

}  // namespace cinefactor
