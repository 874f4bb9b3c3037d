// Models for the server tests, trained once per test process on the synthetic `small` preset (the
// shape of ml-latest-small, generated here, never MovieLens files), plus small HTTP helpers.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cinefactor/dataset.hpp"
#include "cinefactor/model_file.hpp"
#include "cinefactor/synth.hpp"
#include "cinefactor/train.hpp"
#include "test_support.hpp"

namespace cinefactor::test {

struct TrainedModels {
  TempDir dir;
  std::shared_ptr<const Model> svd;    // k = 16
  std::shared_ptr<const Model> svd_b;  // k = 12: a different model of the same data (reload tests)
  std::shared_ptr<const Model> nmf;    // k = 8
  std::filesystem::path svd_file, svd_b_file, nmf_file;
};

inline std::shared_ptr<const Model> train_on(const Dataset& data, Algorithm algorithm, int rank) {
  TrainOptions o;
  o.algorithm = algorithm;
  o.rank = rank;
  o.device = Device::cpu;
  o.max_iterations = 60;
  auto m = train(data.ratings, o);
  attach_catalog(m, data);
  return std::make_shared<const Model>(std::move(m));
}

// Trained on first use; shared by every test of the process.
inline const TrainedModels& trained_models() {
  // A static object (not leaked) so its temporary directory is removed at exit.
  static const std::unique_ptr<TrainedModels> models = [] {
    auto t = std::make_unique<TrainedModels>();
    SynthOptions so;
    so.preset = "small";
    write_synthetic_dataset(so, t->dir / "data");
    LoadOptions lo;
    lo.use_cache = false;
    const auto data = load_dataset(t->dir / "data", lo);
    t->svd = train_on(data, Algorithm::svd, 16);
    t->svd_b = train_on(data, Algorithm::svd, 12);
    t->nmf = train_on(data, Algorithm::nmf, 8);
    t->svd_file = t->dir / "svd.cfm";
    t->svd_b_file = t->dir / "svd_b.cfm";
    t->nmf_file = t->dir / "nmf.cfm";
    save_model(*t->svd, t->svd_file);
    save_model(*t->svd_b, t->svd_b_file);
    save_model(*t->nmf, t->nmf_file);
    return t;
  }();
  return *models;
}

// The ids of the `n` most-rated movies of a model, most rated first.
inline std::vector<std::int64_t> most_rated(const Model& m, std::size_t n) {
  std::vector<std::size_t> order(m.catalog.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return m.catalog[a].rating_count > m.catalog[b].rating_count;
  });
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < n && i < order.size(); ++i) ids.push_back(m.catalog[order[i]].movie.id);
  return ids;
}

// {"ratings": [...]} with ratings cycling through 5, 4.5, 1, 3.5, 2 over `ids`.
inline nlohmann::json ratings_body(const std::vector<std::int64_t>& ids) {
  static const float kStars[] = {5.0f, 4.5f, 1.0f, 3.5f, 2.0f};
  nlohmann::json ratings = nlohmann::json::array();
  for (std::size_t i = 0; i < ids.size(); ++i)
    ratings.push_back({{"movie_id", ids[i]}, {"rating", kStars[i % 5]}});
  return {{"ratings", ratings}};
}

}  // namespace cinefactor::test
