// libFuzzer harness: the MovieLens readers of every layout (ratings.csv + movies.csv + links.csv,
// ratings.dat + movies.dat, u.data + u.item) through load_dataset(), layout detection included.
//
// An input is what `head` prints for the files of one data directory, each file after its marker line:
//   ==> movies.csv <==
//   movieId,title,genres
//   1,Harbor Lights (1994),Drama|Romance
//
//   ==> ratings.csv <==
//   ...
// (the blank line before a marker belongs to the marker). A first line "--skip-bad-lines" loads with
// skip_bad_lines. Marker lines with other names are file content. Found: anything but a success or a
// cinefactor::Error; a loaded dataset that breaks its own invariants.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/dataset.hpp"
#include "fuzz_support.hpp"

namespace {

using cinefactor::fuzz::finding;

constexpr std::array<std::string_view, 7> kFileNames = {
    "ratings.csv", "movies.csv", "links.csv", "ratings.dat", "movies.dat", "u.data", "u.item"};
constexpr std::string_view kSkipFlag = "--skip-bad-lines\n";

struct DataFiles {
  bool skip_bad_lines = false;
  std::vector<std::pair<std::string_view, std::string_view>> files;  // name, content
};

// The file name of a marker line "==> NAME <==", or empty.
std::string_view marker_name(std::string_view line) {
  constexpr std::string_view kOpen = "==> ";
  constexpr std::string_view kClose = " <==";
  if (!line.starts_with(kOpen) || !line.ends_with(kClose) || line.size() < kOpen.size() + kClose.size())
    return {};
  const auto name = line.substr(kOpen.size(), line.size() - kOpen.size() - kClose.size());
  return std::find(kFileNames.begin(), kFileNames.end(), name) != kFileNames.end() ? name
                                                                                   : std::string_view{};
}

DataFiles split_input(std::string_view input) {
  DataFiles out;
  if (input.starts_with(kSkipFlag)) {
    out.skip_bad_lines = true;
    input.remove_prefix(kSkipFlag.size());
  }
  std::string_view name;
  std::size_t content_start = 0;
  std::size_t pos = 0;
  auto close = [&](std::size_t end) {
    if (name.empty()) return;
    auto content = input.substr(content_start, end - content_start);
    if (content.ends_with("\n\n")) content.remove_suffix(1);  // the blank line before the next marker
    out.files.emplace_back(name, content);
  };
  while (pos <= input.size()) {
    const auto nl = input.find('\n', pos);
    const auto end = nl == std::string_view::npos ? input.size() : nl;
    if (const auto next = marker_name(input.substr(pos, end - pos)); !next.empty()) {
      close(pos);
      name = next;
      content_start = std::min(end + 1, input.size());
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  close(input.size());
  return out;
}

void check_invariants(const cinefactor::Dataset& ds) {
  const auto& m = ds.ratings;
  if (m.nnz() <= 0 || m.n_users() <= 0 || m.n_movies() <= 0)
    finding("invariant", "a dataset without ratings");
  if (ds.movie_of_column.size() != static_cast<std::size_t>(m.n_movies()))
    finding("invariant", "movie_of_column is not one entry per column");
  for (std::size_t j = 0; j < ds.movie_of_column.size(); ++j) {
    const auto k = ds.movie_of_column[j];
    if (k < 0 || static_cast<std::size_t>(k) >= ds.movies.size() ||
        ds.movies[static_cast<std::size_t>(k)].id != m.movie_ids()[j])
      finding("invariant", "a rating-matrix column maps to the wrong catalog entry");
  }
  for (std::size_t i = 1; i < ds.movies.size(); ++i) {
    if (ds.movies[i - 1].id >= ds.movies[i].id) finding("invariant", "the catalog is not strictly ascending");
  }
  for (const float v : m.by_user().values) {
    if (!std::isfinite(v) || v < ds.scale.min || v > ds.scale.max)
      finding("invariant", "a rating off the scale");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& dir = cinefactor::fuzz::scratch_dir();
  for (const auto name : kFileNames) std::filesystem::remove(dir / name);
  const auto input = split_input(cinefactor::fuzz::as_text(data, size));
  for (const auto& [name, content] : input.files) cinefactor::fuzz::write_file(dir / name, content);

  cinefactor::LoadOptions options;
  options.skip_bad_lines = input.skip_bad_lines;
  options.use_cache = false;  // fuzz_dataset_cache reads caches
  options.threads = 1;
  cinefactor::fuzz::expect_success_or([&] { check_invariants(cinefactor::load_dataset(dir, options)); });
  return 0;
}
