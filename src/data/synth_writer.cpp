// Writing a synthetic MovieLens-like dataset (see include/cinefactor/synth.hpp): ratings.csv,
// movies.csv and links.csv, formatted in parallel and published as one directory.
//
// Generation runs in three steps:
//  1. Plan (data/synth_plan.hpp, single-threaded, cheap): the catalog, each user's activity window and
//     exact rating count, and the seeding of every rated movie into one user's list.
//  2. Calibration (data/synth_sampler.hpp): the raw scores of a fixed sample of users are drawn and
//     the half-star thresholds set at the quantiles of the target histogram (quantile mapping).
//  3. Draw and write (here, parallel over users): each user draws the rest of their movies from the
//     popularity distribution (alias table), keeps a draw with probability sigmoid(sharpness * taste),
//     skips movies released after their last day, scores every movie and formats the lines.
// Each user's draws come from a generator seeded by hashing (seed, stream, user), so the output does
// not depend on the number of threads or on the order in which users are processed.
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"
#include "cinefactor/synth.hpp"
#include "core/atomic_file.hpp"
#include "data/synth_catalog.hpp"
#include "data/synth_plan.hpp"
#include "data/synth_sampler.hpp"

namespace cinefactor {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, kHalfStarLevels> kRatingText = {"0.5", "1.0", "1.5", "2.0", "2.5",
                                                                       "3.0", "3.5", "4.0", "4.5", "5.0"};

void append_int(std::string& s, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

void append_csv_field(std::string& s, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    s.append(field);
    return;
  }
  s.push_back('"');
  for (char c : field) {
    if (c == '"') s.push_back('"');
    s.push_back(c);
  }
  s.push_back('"');
}

std::int64_t write_catalog(const SynthPlan& plan, const fs::path& dir) {
  std::string movies = "movieId,title,genres\n";
  std::string links = "movieId,imdbId,tmdbId\n";
  for (const SynthMovie& mv : plan.movies) {
    append_int(movies, mv.id);
    movies.push_back(',');
    append_csv_field(movies, mv.title);
    movies.push_back(',');
    movies += synth_genres_string(mv.genre_mask);
    movies.push_back('\n');
    append_int(links, mv.id);
    char imdb[16];
    std::snprintf(imdb, sizeof imdb, ",%07lld,", static_cast<long long>(mv.imdb_id));
    links += imdb;
    if (mv.tmdb_id > 0) append_int(links, mv.tmdb_id);
    links.push_back('\n');
  }
  SyncedFile m(dir / "movies.csv");
  m.write(movies);
  SyncedFile l(dir / "links.csv");
  l.write(links);
  return m.close() + l.close();
}

constexpr std::size_t kUsersPerChunk = 32;
constexpr std::size_t kMaxIdDigits = 20;
// Longest "," movie "," rating "," timestamp "\n" after the user id.
constexpr std::size_t kMaxLineTail = 1 + kMaxIdDigits + 1 + 3 + 1 + kMaxIdDigits + 1;
constexpr std::size_t kChunksPerBlock = 256;

}  // namespace

std::string synth_genres_string(std::uint32_t genre_mask) {
  if (genre_mask == 0) return "(no genres listed)";
  std::string s;
  for (int g = 0; g < synth::kGenres; ++g) {
    if ((genre_mask >> g) & 1u) {
      if (!s.empty()) s.push_back('|');
      s += synth::kGenreNames[static_cast<std::size_t>(g)];
    }
  }
  return s;
}

SynthStats write_synthetic_dataset(const SynthOptions& options, const fs::path& out_dir) {
  const auto start = std::chrono::steady_clock::now();
  if (out_dir.empty()) throw InvalidArgument("synthetic data: no output directory given");
  fs::path target = fs::absolute(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec))
      throw InvalidArgument(target.string() + " exists and is not a directory");
    if (!fs::is_empty(target, ec) && !options.force) {
      throw InvalidArgument(target.string() + " exists and is not empty (use --force to replace it)");
    }
  }
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw IoError("cannot create " + target.parent_path().string() + ": " + ec.message());

  const SynthPreset& preset = synth_preset(options.preset);
  synth::PlannedDataset planned = synth::plan_dataset(preset, options.seed);
  const SynthPlan& plan = planned.plan;
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  const synth::Generator gen(plan, std::move(planned.model));
  spdlog::debug("synthetic {}: plan ready, calibrating the rating scale", preset.name);
  const auto thresholds = synth::calibrate(gen, plan, threads);

  StagedDirectory staging(target);
  SynthStats stats;
  stats.preset = preset.name;
  stats.seed = options.seed;
  stats.users = preset.users;
  stats.rated_movies = preset.rated_movies;
  stats.listed_movies = preset.listed_movies;
  stats.bytes = write_catalog(plan, staging.path());

  SyncedFile ratings(staging.path() / "ratings.csv");
  ratings.write("userId,movieId,rating,timestamp\n");
  const std::size_t nu = plan.user_counts.size();
  const std::size_t block_users = kUsersPerChunk * kChunksPerBlock;
  std::vector<synth::Workspace> ws(static_cast<std::size_t>(threads));
  std::vector<std::string> chunk_text(kChunksPerBlock);
  std::vector<std::array<std::int64_t, kHalfStarLevels>> chunk_hist(kChunksPerBlock);
  std::vector<std::int64_t> movie_ids(plan.movies.size());
  for (std::size_t k = 0; k < plan.movies.size(); ++k) movie_ids[k] = plan.movies[k].id;
  Progress progress("synth " + preset.name, preset.ratings, "ratings");
  std::int64_t written = 0;
#pragma omp parallel num_threads(threads)
  {
    synth::Workspace& w = ws[static_cast<std::size_t>(omp_get_thread_num())];
    gen.init_workspace(w);
  }
  for (std::size_t block = 0; block < nu; block += block_users) {
    const std::size_t chunks = std::min(kChunksPerBlock, (nu - block + kUsersPerChunk - 1) / kUsersPerChunk);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::size_t c = 0; c < chunks; ++c) {
      synth::Workspace& w = ws[static_cast<std::size_t>(omp_get_thread_num())];
      std::string& text = chunk_text[c];
      auto& hist = chunk_hist[c];
      text.clear();
      hist.fill(0);
      std::int64_t lines = 0;
      const std::size_t end = std::min(nu, block + (c + 1) * kUsersPerChunk);
      for (std::size_t u = block + c * kUsersPerChunk; u < end; ++u) {
        gen.draw_user(u, w);
        char user_field[16];
        const auto ur = std::to_chars(user_field, user_field + sizeof user_field, u + 1);
        const auto user_len = static_cast<std::size_t>(ur.ptr - user_field);
        // Format straight into the chunk's buffer: reserve the longest possible lines, trim after.
        std::size_t used = text.size();
        text.resize(used + w.picks.size() * (user_len + kMaxLineTail));
        char* out = text.data() + used;
        for (const synth::Pick& pk : w.picks) {
          const auto level = static_cast<std::size_t>(
              std::upper_bound(thresholds.begin(), thresholds.end(), pk.score) - thresholds.begin());
          ++hist[level];
          out = std::copy_n(user_field, user_len, out);
          *out++ = ',';
          out = std::to_chars(out, out + kMaxIdDigits, movie_ids[static_cast<std::size_t>(pk.movie)]).ptr;
          *out++ = ',';
          out = std::copy_n(kRatingText[level].data(), kRatingText[level].size(), out);
          *out++ = ',';
          out = std::to_chars(out, out + kMaxIdDigits, pk.time).ptr;
          *out++ = '\n';
        }
        used = static_cast<std::size_t>(out - text.data());
        text.resize(used);
        lines += static_cast<std::int64_t>(w.picks.size());
      }
      progress.advance(lines);
    }
    for (std::size_t c = 0; c < chunks; ++c) {
      ratings.write(chunk_text[c]);
      for (int l = 0; l < kHalfStarLevels; ++l) {
        stats.histogram[static_cast<std::size_t>(l)] += chunk_hist[c][static_cast<std::size_t>(l)];
        written += chunk_hist[c][static_cast<std::size_t>(l)];
      }
    }
  }
  progress.finish();
  if (written != preset.ratings) {
    throw Error("synthetic data: wrote " + std::to_string(written) + " ratings instead of " +
                std::to_string(preset.ratings));
  }
  stats.ratings = written;
  stats.bytes += ratings.close();
  if (!staging.commit(options.force)) {
    throw IoError(target.string() + " was filled while the dataset was written (use --force to replace it)");
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("wrote {} ratings of {} users on {} movies to {} in {:.2f} s", stats.ratings, stats.users,
               stats.rated_movies, target.string(), stats.seconds);
  return stats;
}

}  // namespace cinefactor
