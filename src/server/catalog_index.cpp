#include "server/catalog_index.hpp"

#include <algorithm>
#include <numeric>

#include "cinefactor/catalog_search.hpp"
#include "cinefactor/error.hpp"

namespace cinefactor {

CatalogIndex::CatalogIndex(const Model& model) : model_(&model), catalog_(&model.catalog) {
  const auto& cat = *catalog_;
  if (cat.empty()) throw InvalidArgument("the model has no movie catalog (it is needed to show movies)");

  by_popularity_.resize(cat.size());
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(), [&](std::int32_t a, std::int32_t b) {
    const auto& ma = cat[static_cast<std::size_t>(a)];
    const auto& mb = cat[static_cast<std::size_t>(b)];
    if (ma.rating_count != mb.rating_count) return ma.rating_count > mb.rating_count;
    return ma.movie.id < mb.movie.id;
  });
}

const CatalogMovie* CatalogIndex::find(std::int64_t movie_id) const {
  const auto j = model_->movie_index(movie_id);
  return j ? &(*catalog_)[static_cast<std::size_t>(*j)] : nullptr;
}

std::vector<const CatalogMovie*> CatalogIndex::sample_popular(
    std::size_t size, std::size_t pool, std::mt19937_64& rng,
    const std::unordered_set<std::int64_t>& exclude) const {
  std::vector<const CatalogMovie*> candidates;
  candidates.reserve(std::min(pool, by_popularity_.size()));
  for (auto i : by_popularity_) {
    if (candidates.size() >= pool) break;
    const auto& m = (*catalog_)[static_cast<std::size_t>(i)];
    if (!exclude.contains(m.movie.id)) candidates.push_back(&m);
  }
  const auto take = std::min(size, candidates.size());
  // Partial Fisher-Yates: the first `take` entries become a uniform sample without replacement.
  for (std::size_t i = 0; i < take; ++i) {
    std::uniform_int_distribution<std::size_t> pick(i, candidates.size() - 1);
    std::swap(candidates[i], candidates[pick(rng)]);
  }
  candidates.resize(take);
  return candidates;
}

std::vector<const CatalogMovie*> CatalogIndex::search(std::string_view query, std::size_t limit) const {
  std::vector<const CatalogMovie*> out;
  for (auto j : search_titles(*model_, query, limit))
    out.push_back(&(*catalog_)[static_cast<std::size_t>(j)]);
  return out;
}

}  // namespace cinefactor
