// The recommendation endpoints of the JSON API: POST /api/v1/recommendations and
// GET /api/v1/movies/{id}/similar. Results carry their catalog entries (Recommendation::movie), so
// nothing is looked up again after the recommender answers.
#include <fmt/format.h>

#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

using nlohmann::json;

constexpr std::int64_t kDefaultSimilar = 10;

}  // namespace

void handle_api_recommendations(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto [model, request] = parse_api_request(ctx, req);
  const auto recs = model.recommender->recommend(request);

  std::vector<const CatalogMovie*> movies;
  for (const auto& r : recs) movies.push_back(r.movie);
  const auto media = media_for(ctx, movies);
  const bool predicts = model.model->predicts_ratings();
  json list = json::array();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    json because = json::array();
    for (const auto& c : r.because) {
      because.push_back({{"movie_id", c.movie_id},
                         {"title", c.movie->movie.title},
                         {"contribution", round_to(c.contribution, 3)},
                         {"share", round_to(c.share, 3)}});
    }
    json item{
        {"movie", movie_json(*r.movie, media[i])}, {"score", round_to(r.score, 3)}, {"because", because}};
    if (predicts) item["predicted_rating"] = round_to(r.score, 3);
    list.push_back(std::move(item));
  }
  send_json(res, {{"algorithm", model.name}, {"recommendations", std::move(list)}});
}

void handle_movie_similar(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto id = parse_movie_id(req.matches[1].str(), "path segment {id}");
  const auto model = choose_model(ctx, param(req, "algorithm").value_or(""), "query parameter 'algorithm'");
  const auto n = int_param(req, "n", kDefaultSimilar, 1, kMaxTopN);
  Filters filters;
  filters.min_ratings =
      static_cast<std::int32_t>(int_param(req, "min_ratings", kDefaultMinRatings, 0, kMaxMinRatings));
  if (const auto years = param(req, "years"))
    naming_field("query parameter 'years'", [&] { parse_years(*years, filters); });
  // The path names a resource: an unknown id is 404 here, before the recommender is asked.
  const auto* movie = &movie_or_404(model, id);

  const auto similar = model.recommender->similar(id, filters, static_cast<int>(n));
  std::vector<const CatalogMovie*> movies{movie};
  for (const auto& s : similar) movies.push_back(s.movie);
  const auto media = media_for(ctx, movies);
  json list = json::array();
  for (std::size_t i = 0; i < similar.size(); ++i) {
    list.push_back({{"movie", movie_json(*movies[i + 1], media[i + 1])},
                    {"similarity", round_to(similar[i].similarity, 3)}});
  }
  send_json(
      res,
      {{"movie", movie_json(*movie, media[0])}, {"algorithm", model.name}, {"similar", std::move(list)}});
}

}  // namespace cinefactor::server
