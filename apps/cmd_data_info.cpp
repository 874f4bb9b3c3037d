// `cinefactor data info`: what a MovieLens directory holds (sizes, density, rating histogram, the
// most-rated movies) and how it was loaded.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cinefactor/dataset.hpp"
#include "cinefactor/error.hpp"
#include "commands.hpp"
#include "flag_checks.hpp"

namespace cinefactor::cli {
namespace {

constexpr int kDefaultTop = 10;
constexpr int kHistogramBarWidth = 40;

struct InfoOptions {
  std::string dir;
  bool json = false;
  bool no_cache = false;
  bool skip_bad_lines = false;
  int top = kDefaultTop;
};

struct HistogramBin {
  float rating = 0.0f;
  std::int64_t count = 0;
};

// Counts per rating value on the layout's grid (every value is on it: the loader checked).
std::vector<HistogramBin> rating_histogram(const Dataset& ds) {
  const float step = ds.layout == Layout::u_data ? 1.0f : 0.5f;
  const auto bins = static_cast<std::size_t>(std::lround((ds.scale.max - ds.scale.min) / step)) + 1;
  std::vector<HistogramBin> histogram(bins);
  for (std::size_t b = 0; b < bins; ++b) histogram[b].rating = ds.scale.min + static_cast<float>(b) * step;
  std::vector<std::int64_t> counts(bins, 0);
  for (float v : ds.ratings.by_user().values) {
    const float position = (v - ds.scale.min) / step + 0.5f;
    if (position >= 0.0f && position < static_cast<float>(bins)) ++counts[static_cast<std::size_t>(position)];
  }
  for (std::size_t b = 0; b < bins; ++b) histogram[b].count = counts[b];
  return histogram;
}

// Columns by rating count, most first; ties by movie id.
std::vector<std::int32_t> most_rated(const Dataset& ds, int top) {
  std::vector<std::int32_t> columns(static_cast<std::size_t>(ds.ratings.n_movies()));
  std::iota(columns.begin(), columns.end(), 0);
  const auto n = std::min<std::size_t>(columns.size(), static_cast<std::size_t>(std::max(top, 0)));
  std::partial_sort(columns.begin(), columns.begin() + static_cast<std::ptrdiff_t>(n), columns.end(),
                    [&](std::int32_t a, std::int32_t b) {
                      const auto ca = ds.ratings.movie_count(a);
                      const auto cb = ds.ratings.movie_count(b);
                      return ca != cb ? ca > cb : a < b;
                    });
  columns.resize(n);
  return columns;
}

void print_json(const Dataset& ds, const std::vector<HistogramBin>& histogram,
                const std::vector<std::int32_t>& top) {
  nlohmann::ordered_json out{{"dir", ds.dir.string()},
                             {"layout", layout_name(ds.layout)},
                             {"users", ds.ratings.n_users()},
                             {"movies", ds.ratings.n_movies()},
                             {"catalog_movies", ds.movies.size()},
                             {"ratings", ds.ratings.nnz()},
                             {"density", ds.ratings.density()},
                             {"mean_rating", ds.ratings.global_mean()},
                             {"scale", {{"min", ds.scale.min}, {"max", ds.scale.max}}},
                             {"histogram", nlohmann::ordered_json::array()},
                             {"most_rated", nlohmann::ordered_json::array()},
                             {"load",
                              {{"from_cache", ds.report.from_cache},
                               {"lines_read", ds.report.lines_read},
                               {"skipped_lines", ds.report.skipped_lines},
                               {"duplicates", ds.report.duplicates},
                               {"seconds", ds.report.seconds}}}};
  for (const auto& bin : histogram)
    out["histogram"].push_back({{"rating", bin.rating}, {"count", bin.count}});
  for (auto column : top) {
    const auto& movie = ds.column_movie(column);
    nlohmann::ordered_json entry{{"movie_id", movie.id},
                                 {"title", movie.title},
                                 {"year", movie.year},
                                 {"ratings", ds.ratings.movie_count(column)},
                                 {"mean", ds.ratings.movie_means()[static_cast<std::size_t>(column)]}};
    out["most_rated"].push_back(std::move(entry));
  }
  fmt::print("{}\n", out.dump(2));
}

void print_text(const Dataset& ds, const std::vector<HistogramBin>& histogram,
                const std::vector<std::int32_t>& top) {
  const auto& r = ds.ratings;
  fmt::print("dataset   {} ({} layout)\n", ds.dir.string(), layout_name(ds.layout));
  fmt::print("users     {}\n", r.n_users());
  fmt::print("movies    {} rated ({} in the catalog)\n", r.n_movies(), ds.movies.size());
  fmt::print("ratings   {} (mean {:.3f}, scale {:g} to {:g})\n", r.nnz(), r.global_mean(), ds.scale.min,
             ds.scale.max);
  fmt::print("density   {:.4f}%\n", r.density() * 100.0);
  fmt::print("loaded    {} in {:.2f} s; {} duplicate rating{} (last kept), {} skipped line{}\n",
             ds.report.from_cache ? "from the cache" : fmt::format("{} rating lines", ds.report.lines_read),
             ds.report.seconds, ds.report.duplicates, ds.report.duplicates == 1 ? "" : "s",
             ds.report.skipped_lines, ds.report.skipped_lines == 1 ? "" : "s");

  fmt::print("\nrating histogram\n");
  std::int64_t peak = 1;
  for (const auto& bin : histogram) peak = std::max(peak, bin.count);
  for (const auto& bin : histogram) {
    const auto width = static_cast<std::size_t>(bin.count * kHistogramBarWidth / peak);
    fmt::print(
        "  {:>4.1f} {:>10} {:>6.2f}%  {}\n", bin.rating, bin.count,
        100.0 * static_cast<double>(bin.count) / static_cast<double>(std::max<std::int64_t>(r.nnz(), 1)),
        std::string(width, '#'));
  }

  if (top.empty()) return;
  fmt::print("\nmost-rated movies\n");
  fmt::print("  {:>4}  {:>8}  {:>7}  {:>4}  {}\n", "rank", "ratings", "mean", "year", "title");
  int rank = 0;
  for (auto column : top) {
    const auto& movie = ds.column_movie(column);
    fmt::print("  {:>4}  {:>8}  {:>7.2f}  {:>4}  {}\n", ++rank, r.movie_count(column),
               r.movie_means()[static_cast<std::size_t>(column)],
               movie.year == 0 ? std::string("-") : std::to_string(movie.year), movie.title);
  }
}

}  // namespace

void register_data_info(CLI::App& data) {
  auto opts = std::make_shared<InfoOptions>();
  auto* cmd = data.add_subcommand(
      "info", "Describe a MovieLens directory: sizes, density, rating histogram, most-rated movies");
  cmd->add_option("--data", opts->dir, "MovieLens directory (ml-latest-small, ml-25m, ml-1m, ml-100k, ...)")
      ->required();
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->add_flag("--no-cache", opts->no_cache,
                "Parse the text files; neither read nor write the binary cache");
  cmd->add_flag("--skip-bad-lines", opts->skip_bad_lines,
                "Skip (and count) malformed lines instead of stopping");
  cmd->add_option("--top", opts->top, "How many most-rated movies to list")
      ->default_val(kDefaultTop)
      ->check(non_negative());
  cmd->callback([opts] {
    LoadOptions load;
    load.use_cache = !opts->no_cache;
    load.skip_bad_lines = opts->skip_bad_lines;
    const Dataset ds = load_dataset(opts->dir, load);
    const auto histogram = rating_histogram(ds);
    const auto top = most_rated(ds, opts->top);
    if (opts->json) {
      print_json(ds, histogram, top);
    } else {
      print_text(ds, histogram, top);
    }
  });
}

}  // namespace cinefactor::cli
