// Finding movies of a model's catalog by title: the CLI's `--rate "toy story=4"` and the web app's
// search box use the same ranking.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/model.hpp"

namespace cinefactor {

// Movie indices whose title (or "title (year)") contains `query`, case-insensitively (ASCII case
// folding; other characters compare as-is). Ranked: exact title or "title (year)" match first, then
// titles starting with the query, then the rest; within each group by rating count (descending), then
// by movie id. At most `limit` results. An empty or blank query matches nothing.
std::vector<std::int32_t> search_titles(const Model& model, std::string_view query, std::size_t limit);

// Resolves a movie reference typed by a person: a numeric MovieLens id, or a title fragment that must
// identify one movie (an exact title match wins over fragments). Throws InvalidArgument for an unknown
// id, no match, or an ambiguous fragment (the message lists the candidates with their ids).
std::int32_t resolve_movie(const Model& model, std::string_view reference);

}  // namespace cinefactor
