#include "cinefactor/catalog_index.hpp"

#include <algorithm>
#include <numeric>

#include "cinefactor/error.hpp"
#include "text_util.hpp"

namespace cinefactor {

CatalogIndex::CatalogIndex(const Model& model) : catalog_(&model.catalog) {
  const auto& cat = *catalog_;
  if (cat.empty()) throw InvalidArgument("the model has no movie catalog (it is needed to show movies)");
  const auto n = static_cast<std::int32_t>(cat.size());
  std::vector<std::int32_t> order(cat.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return cat[static_cast<std::size_t>(a)].movie.id < cat[static_cast<std::size_t>(b)].movie.id;
  });
  sorted_ids_.reserve(cat.size());
  position_of_id_ = order;
  for (auto i : order) sorted_ids_.push_back(cat[static_cast<std::size_t>(i)].movie.id);

  by_popularity_.resize(cat.size());
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(), [&](std::int32_t a, std::int32_t b) {
    const auto& ma = cat[static_cast<std::size_t>(a)];
    const auto& mb = cat[static_cast<std::size_t>(b)];
    if (ma.rating_count != mb.rating_count) return ma.rating_count > mb.rating_count;
    return ma.movie.id < mb.movie.id;
  });

  folded_titles_.reserve(cat.size());
  for (std::int32_t i = 0; i < n; ++i)
    folded_titles_.push_back(text::ascii_lower(cat[static_cast<std::size_t>(i)].movie.title));
}

const CatalogMovie* CatalogIndex::find(std::int64_t movie_id) const {
  const auto it = std::lower_bound(sorted_ids_.begin(), sorted_ids_.end(), movie_id);
  if (it == sorted_ids_.end() || *it != movie_id) return nullptr;
  return &(*catalog_)[static_cast<std::size_t>(
      position_of_id_[static_cast<std::size_t>(it - sorted_ids_.begin())])];
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
  const auto folded = text::ascii_lower(text::trim(query));
  std::vector<std::pair<bool, std::int32_t>> hits;  // (is prefix match, catalog position)
  if (folded.empty() || limit == 0) return {};
  for (std::size_t i = 0; i < folded_titles_.size(); ++i) {
    const auto pos = folded_titles_[i].find(folded);
    if (pos != std::string::npos) hits.emplace_back(pos == 0, static_cast<std::int32_t>(i));
  }
  const auto& cat = *catalog_;
  auto better = [&](const std::pair<bool, std::int32_t>& a, const std::pair<bool, std::int32_t>& b) {
    if (a.first != b.first) return a.first;
    const auto& ma = cat[static_cast<std::size_t>(a.second)];
    const auto& mb = cat[static_cast<std::size_t>(b.second)];
    if (ma.rating_count != mb.rating_count) return ma.rating_count > mb.rating_count;
    if (ma.movie.title != mb.movie.title) return ma.movie.title < mb.movie.title;
    return ma.movie.id < mb.movie.id;
  };
  const auto keep = std::min(limit, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(keep), hits.end(), better);
  std::vector<const CatalogMovie*> out;
  out.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) out.push_back(&cat[static_cast<std::size_t>(hits[i].second)]);
  return out;
}

}  // namespace cinefactor
