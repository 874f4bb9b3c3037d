#include "core/rating_grid.hpp"

#include <fmt/format.h>

#include <cmath>

#include "cinefactor/error.hpp"

namespace cinefactor {

bool on_rating_grid(double rating, const RatingGrid& grid) noexcept {
  if (!(rating >= grid.min && rating <= grid.max)) return false;  // NaN fails too
  if (!(grid.step > 0.0f)) return true;
  const double steps = (rating - grid.min) / grid.step;
  return steps == std::nearbyint(steps);
}

std::string describe_rating_grid(const RatingGrid& grid) {
  if (!(grid.step > 0.0f)) return fmt::format("a rating from {:g} to {:g}", grid.min, grid.max);
  return fmt::format("a rating from {:g} to {:g} in steps of {:g}", grid.min, grid.max, grid.step);
}

std::string rating_grid_error(std::string_view what, const RatingGrid& grid, std::string_view got) {
  return fmt::format("{}: expected {}, got {}", what, describe_rating_grid(grid), got);
}

void check_rating(double rating, const RatingGrid& grid, std::string_view what, std::string_view got) {
  if (on_rating_grid(rating, grid)) return;
  throw InvalidArgument(
      rating_grid_error(what, grid, got.empty() ? fmt::format("{:g}", rating) : std::string(got)));
}

}  // namespace cinefactor
