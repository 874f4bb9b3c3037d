// The models a server answers with, replaceable while requests run (hot reload).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/model.hpp"

namespace cinefactor {

class CatalogIndex;  // the server's look-ups over a model's catalog (internal)
class Recommender;

// One model the server can answer with.
struct LoadedModel {
  std::string name;  // what requests select it by ("nmf", "svd")
  std::shared_ptr<const Model> model;
  std::shared_ptr<const CatalogIndex> catalog;     // built over model->catalog
  std::shared_ptr<const Recommender> recommender;  // over model, built once at load, swapped with it
  std::string source;                              // where it was loaded from (shown by /healthz)
};

// The loaded models, replaceable while requests run (hot reload): readers take a snapshot, which
// keeps the models it holds alive however long the request lasts.
class ModelRegistry {
 public:
  using Snapshot = std::shared_ptr<const std::vector<LoadedModel>>;

  ModelRegistry();
  // Adds a model under `name`, replacing one already there by that name (same position). Builds the
  // catalog index and the recommender before the swap (requests never see a half-built model);
  // throws InvalidArgument when the model has no catalog, is inconsistent, or the name is empty.
  void put(std::string name, std::shared_ptr<const Model> model, std::string source = {});
  // Adds under the algorithm's name (algorithm_name(model->algorithm)).
  void put(std::shared_ptr<const Model> model, std::string source = {});

  Snapshot snapshot() const;
  std::optional<LoadedModel> find(std::string_view name) const;
  // The first model added: its catalog serves the movie pages and the movie API.
  std::optional<LoadedModel> primary() const;

 private:
  mutable std::mutex mutex_;
  Snapshot models_;
};

}  // namespace cinefactor
