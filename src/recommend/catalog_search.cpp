// Title search over a model's catalog and the resolution of a movie a person names (id or title).
#include "cinefactor/catalog_search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "cinefactor/error.hpp"
#include "core/text.hpp"
#include "recommend/messages.hpp"

namespace cinefactor {
namespace {

constexpr std::size_t kAmbiguityListed = 8;

using text::ascii_lower;
using text::trim;

// Case-insensitive (ASCII) comparisons against an already folded query, without allocating: search
// runs over the whole catalog on every keystroke of the web app's search box.
bool iequals(std::string_view text, std::string_view folded) {
  return text.size() == folded.size() && std::equal(text.begin(), text.end(), folded.begin(),
                                                    [](char a, char b) { return ascii_lower(a) == b; });
}
bool istarts_with(std::string_view text, std::string_view folded) {
  return text.size() >= folded.size() && iequals(text.substr(0, folded.size()), folded);
}
bool icontains(std::string_view text, std::string_view folded) {
  return std::search(text.begin(), text.end(), folded.begin(), folded.end(),
                     [](char a, char b) { return ascii_lower(a) == b; }) != text.end();
}

std::string with_year(const Movie& m) {
  return m.year > 0 ? fmt::format("{} ({})", m.title, m.year) : m.title;
}

enum class MatchKind { exact = 0, prefix = 1, contains = 2, none = 3 };

// The query may name the year too ("heat (1995)"): it is matched against "title (year)" as well.
MatchKind match(const Movie& movie, std::string_view folded) {
  const bool names_year = movie.year > 0 && folded.find('(') != std::string_view::npos;
  if (iequals(movie.title, folded) || (names_year && iequals(with_year(movie), folded)))
    return MatchKind::exact;
  if (istarts_with(movie.title, folded)) return MatchKind::prefix;
  if (icontains(movie.title, folded) || (names_year && icontains(with_year(movie), folded)))
    return MatchKind::contains;
  return MatchKind::none;
}

}  // namespace

std::vector<std::int32_t> search_titles(const Model& model, std::string_view query, std::size_t limit) {
  const auto q = ascii_lower(trim(query));
  if (q.empty() || limit == 0) return {};
  struct Hit {
    MatchKind kind;
    std::int32_t count;
    std::int64_t id;
    std::int32_t index;
  };
  std::vector<Hit> hits;
  for (std::int32_t j = 0; j < static_cast<std::int32_t>(model.catalog.size()); ++j) {
    const auto& entry = model.catalog[static_cast<std::size_t>(j)];
    const auto kind = match(entry.movie, q);
    if (kind != MatchKind::none) hits.push_back({kind, entry.rating_count, entry.movie.id, j});
  }
  const auto better = [](const Hit& a, const Hit& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    if (a.count != b.count) return a.count > b.count;
    return a.id < b.id;
  };
  const auto keep = std::min(limit, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(keep), hits.end(), better);
  std::vector<std::int32_t> out;
  out.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) out.push_back(hits[i].index);
  return out;
}

std::int32_t resolve_movie(const Model& model, std::string_view reference) {
  const auto ref = trim(reference);
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), id);
  if (ec == std::errc() && end == ref.data() + ref.size() && !ref.empty()) {
    if (auto j = model.movie_index(id)) return *j;
    const std::int64_t one[] = {id};
    throw InvalidArgument(unknown_movies_message(one, algorithm_name(model.algorithm)));
  }
  if (model.catalog.empty()) throw InvalidArgument("the model has no catalog to look titles up in");
  const auto hits = search_titles(model, ref, model.catalog.size());
  if (hits.empty()) throw InvalidArgument(fmt::format("no movie title contains \"{}\"", ref));
  const auto q = ascii_lower(ref);
  std::vector<std::int32_t> exact;
  for (auto j : hits) {
    if (match(model.catalog[static_cast<std::size_t>(j)].movie, q) == MatchKind::exact) exact.push_back(j);
  }
  if (exact.size() == 1) return exact.front();
  const auto& candidates = exact.empty() ? hits : exact;
  if (candidates.size() == 1) return candidates.front();
  std::string listed;
  for (std::size_t i = 0; i < std::min(kAmbiguityListed, candidates.size()); ++i) {
    const auto& m = model.catalog[static_cast<std::size_t>(candidates[i])].movie;
    listed += fmt::format("{}{} [id {}]", i ? ", " : "", with_year(m), m.id);
  }
  if (candidates.size() > kAmbiguityListed)
    listed += fmt::format(", and {} more", candidates.size() - kAmbiguityListed);
  throw InvalidArgument(
      fmt::format("\"{}\" is ambiguous: it matches {}; use the movie id or more of the title", ref, listed));
}

}  // namespace cinefactor
