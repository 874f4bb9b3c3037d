// `cinefactor recommend`: fold a visitor's ratings into a trained model and print the top N.
#include <fmt/format.h>

#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>

#include "cinefactor/catalog_search.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/model_file.hpp"
#include "cinefactor/recommender.hpp"
#include "commands.hpp"
#include "core/rating_grid.hpp"
#include "flag_checks.hpp"

namespace cinefactor::cli {
namespace {

// "MOVIE=STARS": MOVIE is an id or a title fragment (which may itself contain '='; the last one splits);
// STARS is on the half-star grid, the same rule as the web API's (core/rating_grid.hpp).
VisitorRating parse_rating(const Model& model, const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw InvalidArgument(
        fmt::format("--rate \"{}\": expected MOVIE=STARS, e.g. 1=4.5 or \"toy story=4\"", text));
  }
  double stars = 0.0;
  const char* first = text.data() + eq + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, stars);
  if (ec != std::errc() || end != last) {
    throw InvalidArgument(
        fmt::format("--rate \"{}\": \"{}\" is not a number of stars", text, std::string(first, last)));
  }
  check_rating(stars, kHalfStars, fmt::format("--rate \"{}\"", text), std::string(first, last));
  const auto j = resolve_movie(model, std::string_view(text).substr(0, eq));
  return {model.movie_ids[static_cast<std::size_t>(j)], static_cast<float>(stars)};
}

// The catalog entry's movie; a model without a catalog names the movie by its id.
Movie movie_of(const CatalogMovie* entry, std::int64_t id) {
  if (entry) return entry->movie;
  Movie m;
  m.id = id;
  m.title = fmt::format("movie {}", id);
  return m;
}

std::string title_year(const Movie& m) {
  return m.year > 0 ? fmt::format("{} ({})", m.title, m.year) : m.title;
}

}  // namespace

void register_recommend_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("recommend", "Recommend movies for someone from a few ratings (no retraining)");
  struct Args {
    std::string model;
    std::vector<std::string> rates;
    std::string years = "any";
    Filters filters;
    int n = 5;
    int explain = 3;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("-m,--model", args->model, "Model file written by `cinefactor train`")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option(
         "-r,--rate", args->rates,
         "A rating MOVIE=STARS (movie id or title fragment; 0.5 to 5 stars in steps of 0.5); repeatable")
      ->required();
  cmd->add_option("--years", args->years,
                  "old (before --boundary-year), new (from it on), any, or a range FROM-TO")
      ->capture_default_str();
  cmd->add_option("--boundary-year", args->filters.boundary_year, "Year that separates old from new")
      ->capture_default_str();
  cmd->add_option("--genre", args->filters.genres_any,
                  "Only movies with at least one of these genres (repeatable)");
  cmd->add_option("--exclude-genre", args->filters.genres_none,
                  "No movies with any of these genres (repeatable)");
  cmd->add_option("--min-ratings", args->filters.min_ratings,
                  "Only movies with at least this many ratings in the training data")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("-n,--top", args->n, "How many recommendations")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--explain", args->explain, "Rated movies listed as the reason for each recommendation")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args] {
    auto model = std::make_shared<const Model>(load_model(args->model));
    const Recommender recommender(model);
    RecommendRequest request;
    for (const auto& r : args->rates) request.ratings.push_back(parse_rating(*model, r));
    request.filters = args->filters;
    try {
      parse_years(args->years, request.filters);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(std::string("--years: ") + e.what());
    }
    request.top_n = args->n;
    request.explain = args->explain;
    const auto recs = recommender.recommend(request);

    if (args->json) {
      nlohmann::json out{{"model", args->model},
                         {"algorithm", algorithm_name(model->algorithm)},
                         {"predicts_ratings", model->predicts_ratings()},
                         {"recommendations", nlohmann::json::array()}};
      for (const auto& r : recs) {
        const auto m = movie_of(r.movie, r.movie_id);
        nlohmann::json because = nlohmann::json::array();
        for (const auto& c : r.because) {
          because.push_back({{"movie_id", c.movie_id},
                             {"title", movie_of(c.movie, c.movie_id).title},
                             {"contribution", c.contribution},
                             {"share", c.share}});
        }
        out["recommendations"].push_back({{"movie_id", r.movie_id},
                                          {"title", m.title},
                                          {"year", m.year},
                                          {"genres", m.genres},
                                          {"score", r.score},
                                          {"rating_count", r.rating_count},
                                          {"because", because}});
      }
      fmt::print("{}\n", out.dump(2));
      return;
    }
    if (recs.empty()) {
      fmt::print("no movie passes the filters (years, genres, --min-ratings {}); loosen them\n",
                 request.filters.min_ratings);
      return;
    }
    const char* score_label = model->predicts_ratings() ? "predicted" : "score";
    for (std::size_t i = 0; i < recs.size(); ++i) {
      const auto& r = recs[i];
      const auto m = movie_of(r.movie, r.movie_id);
      const std::string genres =
          m.genres.empty() ? std::string("no genres listed") : fmt::format("{}", fmt::join(m.genres, "|"));
      fmt::print("{:>2}. {}  [{}; {} {:.2f}; {} ratings]\n", i + 1, title_year(m), genres, score_label,
                 r.score, r.rating_count);
      if (!r.because.empty()) {
        std::vector<std::string> names;
        for (const auto& c : r.because) names.push_back(title_year(movie_of(c.movie, c.movie_id)));
        fmt::print("    because you liked {}\n", fmt::join(names, ", "));
      }
    }
  });
}

}  // namespace cinefactor::cli
