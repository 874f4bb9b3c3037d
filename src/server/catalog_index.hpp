// Look-ups over a model's movie catalog that the web app needs: by id, the most-rated movies
// (for the rating page's random draw), and title search. Built once per loaded model.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cinefactor/model.hpp"

namespace cinefactor {

class CatalogIndex {
 public:
  // Keeps a reference to model.catalog: the model must outlive the index. Throws InvalidArgument
  // when the model has no catalog.
  explicit CatalogIndex(const Model& model);

  const CatalogMovie* find(std::int64_t movie_id) const;

  // `size` movies drawn uniformly without replacement from the `pool` most-rated ones that are not
  // in `exclude` (the pool is filled past excluded movies; both shrink to what the catalog has).
  std::vector<const CatalogMovie*> sample_popular(std::size_t size, std::size_t pool, std::mt19937_64& rng,
                                                  const std::unordered_set<std::int64_t>& exclude = {}) const;

  // Titles containing `query`, ranked as search_titles() (catalog_search.hpp) ranks them.
  std::vector<const CatalogMovie*> search(std::string_view query, std::size_t limit) const;

 private:
  const Model* model_;
  const std::vector<CatalogMovie>* catalog_;
  std::vector<std::int32_t> by_popularity_;  // catalog positions, most-rated first (ties: smaller id first)
};

}  // namespace cinefactor
