// Filters: the year filter's names and the one FROM-TO years grammar people type (parse_years), and
// a request's filters compiled to masks (compile_filters) that scoring tests each candidate against
// (passes): popularity floor, years, genres any-of / none-of.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "cinefactor/error.hpp"
#include "cinefactor/recommender.hpp"
#include "core/enum_names.hpp"
#include "core/text.hpp"
#include "recommend/messages.hpp"
#include "recommend/recommender_internal.hpp"

namespace cinefactor {
namespace {

constexpr EnumNames<YearFilter, 4> kYearFilterNames{"any", "old", "new", "range"};

// A year range is checked here for parse_years(), set_year_range() and recommend() alike.
void check_year_range(std::int32_t from, std::int32_t to) {
  if (from > to) throw InvalidArgument(fmt::format("the range {}-{} is empty (from > to)", from, to));
}

}  // namespace

std::optional<YearFilter> parse_year_filter(std::string_view name) noexcept {
  const auto filter = kYearFilterNames.parse(name);
  if (filter == YearFilter::range) return std::nullopt;  // a range is given by its years
  return filter;
}

std::string_view year_filter_name(YearFilter filter) noexcept {
  return kYearFilterNames.name(filter);
}

void set_year_range(Filters& filters, std::optional<std::int32_t> from, std::optional<std::int32_t> to) {
  const auto lo = from.value_or(0);
  const auto hi = to.value_or(kMaxYear);
  check_year_range(lo, hi);
  filters.years = YearFilter::range;
  filters.year_from = lo;
  filters.year_to = hi;
}

void parse_years(std::string_view text, Filters& filters) {
  if (const auto f = parse_year_filter(text)) {
    filters.years = *f;
    return;
  }
  auto fail = [&] {
    return InvalidArgument(fmt::format("expected old, new, any or a range FROM-TO like 1980-1999, got \"{}\"",
                                       std::string(text.substr(0, 40))));
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || text.size() == 1) throw fail();
  auto year = [&](std::string_view s) -> std::optional<std::int32_t> {
    if (s.empty()) return std::nullopt;
    std::int32_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > kMaxYear) throw fail();
    return v;
  };
  set_year_range(filters, year(text.substr(0, dash)), year(text.substr(dash + 1)));
}

Recommender::FilterMask Recommender::compile_filters(const Filters& filters) const {
  const Model& m = *model_;
  FilterMask mask;
  const bool has_catalog = !m.catalog.empty() || m.n_movies() == 0;
  auto need_catalog = [&](const char* what) {
    if (!has_catalog) {
      throw InvalidArgument(fmt::format("the model has no catalog, so it cannot filter by {}", what));
    }
  };
  if (filters.min_ratings < 0)
    throw InvalidArgument(fmt::format("min_ratings must be >= 0, got {}", filters.min_ratings));
  if (filters.min_ratings > 0) need_catalog("the number of ratings (set min_ratings to 0)");
  mask.min_ratings = filters.min_ratings;
  switch (filters.years) {
    case YearFilter::any:
      break;
    case YearFilter::older:
      mask.check_year = true;
      mask.year_lo = std::numeric_limits<std::int32_t>::min();
      mask.year_hi = filters.boundary_year - 1;
      break;
    case YearFilter::newer:
      mask.check_year = true;
      mask.year_lo = filters.boundary_year;
      mask.year_hi = std::numeric_limits<std::int32_t>::max();
      break;
    case YearFilter::range:
      check_year_range(filters.year_from, filters.year_to);
      mask.check_year = true;
      mask.year_lo = filters.year_from;
      mask.year_hi = filters.year_to;
      break;
  }
  if (mask.check_year) need_catalog("year");

  std::vector<std::string> unknown;
  auto bits_of = [&](const std::vector<std::string>& names) {
    std::vector<std::uint64_t> bits;
    if (names.empty()) return bits;
    need_catalog("genre");
    bits.assign(genre_words_, 0);
    for (const auto& name : names) {
      auto it = std::find(genre_names_.begin(), genre_names_.end(), name);
      if (it == genre_names_.end()) {
        const auto wanted = text::ascii_lower(name);
        it = std::find_if(genre_names_.begin(), genre_names_.end(),
                          [&](const std::string& g) { return text::ascii_lower(g) == wanted; });
      }
      if (it == genre_names_.end()) {
        unknown.push_back("'" + name + "'");
        continue;
      }
      const auto bit = static_cast<std::size_t>(it - genre_names_.begin());
      bits[bit / 64] |= std::uint64_t{1} << (bit % 64);
    }
    return bits;
  };
  mask.include = bits_of(filters.genres_any);
  mask.exclude = bits_of(filters.genres_none);
  if (!unknown.empty()) {
    throw InvalidArgument(fmt::format("unknown genre{}: {} (the catalog has: {})",
                                      unknown.size() > 1 ? "s" : "", join_listed(unknown),
                                      fmt::join(genre_names_, ", ")));
  }
  return mask;
}

bool Recommender::passes(const FilterMask& mask, std::int32_t movie) const noexcept {
  const auto j = static_cast<std::size_t>(movie);
  if (counts_[j] < mask.min_ratings) return false;
  if (mask.check_year) {
    const auto y = years_[j];
    if (y == 0 || y < mask.year_lo || y > mask.year_hi) return false;
  }
  if (!mask.include.empty()) {
    bool any = false;
    for (std::size_t w = 0; w < genre_words_; ++w)
      any = any || (genre_bits_[j * genre_words_ + w] & mask.include[w]) != 0;
    if (!any) return false;
  }
  if (!mask.exclude.empty()) {
    for (std::size_t w = 0; w < genre_words_; ++w) {
      if ((genre_bits_[j * genre_words_ + w] & mask.exclude[w]) != 0) return false;
    }
  }
  return true;
}

}  // namespace cinefactor
