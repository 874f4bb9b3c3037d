// Distributed loading (see partition.hpp).
#include "dist/partition.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <optional>

#include "cinefactor/error.hpp"
#include "data/movielens.hpp"
#include "engine/random.hpp"

namespace cinefactor::dist {
namespace {

// One rating on its way to the rank that owns its user.
struct Record {
  std::int32_t user;    // index into Partition::user_ids
  std::int32_t column;  // movie column
  float rating;
  std::uint32_t timestamp;
};

// The random stream of the user shuffle (apart from the streams the algorithms draw from the seed).
constexpr std::uint64_t kShuffleStream = 0x53485546464C45ull;

struct UserCount {
  std::int64_t id;
  std::int64_t count;
};

// This rank's share of the ratings file: byte range cut at line starts, first line numbered as in the file.
detail::RatingsPart my_part(Communicator& comm, const std::filesystem::path& file) {
  const auto size = static_cast<std::int64_t>(std::filesystem::file_size(file));
  const auto nominal = [&](int r) {
    return size / comm.size() * r + std::min<std::int64_t>(r, size % comm.size());
  };
  detail::RatingsPart part;
  part.begin = detail::line_start_at_or_after(file, nominal(comm.rank()));
  part.end =
      comm.rank() + 1 == comm.size() ? size : detail::line_start_at_or_after(file, nominal(comm.rank() + 1));
  part.end = std::max(part.end, part.begin);
  return part;
}

// Users in a seeded random order, cut into comm.size() consecutive blocks of about equal rating counts.
std::vector<std::int32_t> assign_owners(const std::vector<std::int64_t>& counts, std::uint64_t seed,
                                        int ranks) {
  const auto m = static_cast<std::int64_t>(counts.size());
  std::vector<std::int32_t> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  const std::uint64_t shuffle_seed = engine::stream_seed(seed, kShuffleStream);
  for (std::int64_t i = m - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(
        engine::stream_seed(shuffle_seed, static_cast<std::uint64_t>(i)) % static_cast<std::uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  const std::int64_t total = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  std::vector<std::int32_t> owner(counts.size(), 0);
  std::int64_t running = 0;
  for (const std::int32_t u : order) {
    // The rank whose share [total r / P, total (r + 1) / P) holds the middle of this user's ratings.
    const std::int64_t middle = running + counts[static_cast<std::size_t>(u)] / 2;
    owner[static_cast<std::size_t>(u)] =
        total > 0 ? static_cast<std::int32_t>(std::min<std::int64_t>(ranks - 1, middle * ranks / total)) : 0;
    running += counts[static_cast<std::size_t>(u)];
  }
  return owner;
}

// Partition's global statistics of the local ratings: movie counts and means, total, global mean.
void summarize(Communicator& comm, Partition& out) {
  const auto& local = out.data.ratings;
  out.movie_counts.assign(static_cast<std::size_t>(local.n_movies()), 0);
  for (std::int32_t j = 0; j < local.n_movies(); ++j)
    out.movie_counts[static_cast<std::size_t>(j)] = local.movie_count(j);
  comm.sum(out.movie_counts);
  std::int64_t total[1] = {local.nnz()};
  comm.sum(total);
  out.total_ratings = total[0];
  // Per movie sums of ratings (and their total last), summed over the ranks.
  std::vector<double> sums(static_cast<std::size_t>(local.n_movies()) + 1, 0.0);
  const auto& by_movie = local.by_movie();
  for (std::int32_t j = 0; j < local.n_movies(); ++j) {
    double s = 0.0;
    for (std::int64_t e = by_movie.row_begin(j); e < by_movie.row_end(j); ++e)
      s += by_movie.values[static_cast<std::size_t>(e)];
    sums[static_cast<std::size_t>(j)] = s;
    sums.back() += s;
  }
  comm.sum(sums);
  out.movie_means.resize(static_cast<std::size_t>(local.n_movies()));
  for (std::size_t j = 0; j < out.movie_means.size(); ++j) {
    out.movie_means[j] = out.movie_counts[j] > 0
                             ? static_cast<float>(sums[j] / static_cast<double>(out.movie_counts[j]))
                             : 0.0f;
  }
  out.global_mean = out.total_ratings > 0 ? sums.back() / static_cast<double>(out.total_ratings) : 0.0;
}

}  // namespace

Partition load_partition(Communicator& comm, const std::filesystem::path& dir, const LoadOptions& options,
                         std::uint64_t seed) {
  Partition out;
  // 1. The catalog (every rank reads it whole: it is small) and where this rank's byte range starts and
  // ends. Each step that can fail on some ranks only ends in agree(), so that no rank is left waiting in a
  // collective that a failed rank never reaches.
  detail::RatingsPart part;
  std::int64_t line_ends = 0;
  {
    std::exception_ptr error;
    try {
      const Layout layout = detect_layout(dir);
      out.data = detail::read_movielens_catalog(dir, layout, options);
      const auto file = dir / detail::layout_files(layout)[0];
      if (std::filesystem::file_size(file) == 0)
        throw IoError(file.string() + " is empty: expected MovieLens ratings");
      part = my_part(comm, file);
      line_ends = detail::count_line_ends(file, part.begin, part.end);
    } catch (...) {
      error = std::current_exception();
    }
    comm.agree(error);
  }
  part.first_line = 1 + comm.exclusive_sum(line_ends);
  std::optional<detail::PartRatings> read;
  {
    std::exception_ptr error;
    std::int64_t order = 0;
    try {
      read = detail::read_ratings_part(out.data, part, options);
    } catch (const ParseError& e) {
      error = std::current_exception();
      order = e.line();
    } catch (...) {
      error = std::current_exception();
    }
    comm.agree(error, order);
  }
  const auto& catalog = out.data.movies;
  const auto n_catalog = catalog.size();

  // 2. Totals of the load: lines, skipped lines (one warning, with the first one in file order).
  std::int64_t counts[2] = {read->lines, read->skipped};
  comm.sum(counts);
  std::string first_skipped = read->first_skipped;
  {
    // The lowest rank that skipped a line has the file's first skipped line.
    std::int64_t has = read->skipped > 0 ? 1 : 0;
    std::vector<std::int64_t> flags(static_cast<std::size_t>(comm.size()), 0);
    flags[static_cast<std::size_t>(comm.rank())] = has;
    comm.sum(flags);
    const auto first = std::find(flags.begin(), flags.end(), 1);
    if (first != flags.end()) comm.broadcast(first_skipped, static_cast<int>(first - flags.begin()));
  }
  out.data.report.lines_read = counts[0];
  out.data.report.skipped_lines += counts[1];
  const auto file = out.data.dir / detail::layout_files(out.data.layout)[0];
  if (counts[1] > 0 && comm.root()) {
    spdlog::warn("{}: skipped {} bad line{} (first: {})", file.string(), counts[1], counts[1] == 1 ? "" : "s",
                 first_skipped);
  }

  // 3. The movie columns: every catalog movie rated on any rank, in catalog (= id) order.
  std::vector<std::uint8_t> rated(n_catalog, 0);
  for (const std::int32_t m : read->catalog_movie) rated[static_cast<std::size_t>(m)] = 1;
  comm.max(rated);
  std::vector<std::int32_t> column_of(n_catalog, -1);
  std::vector<std::int64_t> movie_ids;
  for (std::size_t m = 0; m < n_catalog; ++m) {
    if (!rated[m]) continue;
    column_of[m] = static_cast<std::int32_t>(out.data.movie_of_column.size());
    out.data.movie_of_column.push_back(static_cast<std::int32_t>(m));
    movie_ids.push_back(catalog[m].id);
  }
  if (movie_ids.empty()) throw IoError(file.string() + ": every rating line was bad; no ratings left");

  // 4. The users: every rank's (id, count) pairs, merged into the sorted id list of one process.
  std::vector<UserCount> mine;
  {
    std::vector<std::int64_t> ids = read->user_ids;
    std::sort(ids.begin(), ids.end());
    for (std::size_t i = 0; i < ids.size();) {
      std::size_t j = i;
      while (j < ids.size() && ids[j] == ids[i]) ++j;
      mine.push_back({ids[i], static_cast<std::int64_t>(j - i)});
      i = j;
    }
  }
  std::vector<UserCount> all = comm.all_gather_records<UserCount>(mine);
  mine = {};
  std::sort(all.begin(), all.end(), [](const UserCount& a, const UserCount& b) { return a.id < b.id; });
  std::vector<std::int64_t> user_counts;
  for (const auto& uc : all) {
    if (!out.user_ids.empty() && out.user_ids.back() == uc.id) {
      user_counts.back() += uc.count;
    } else {
      out.user_ids.push_back(uc.id);
      user_counts.push_back(uc.count);
    }
  }
  all = {};
  if (out.user_ids.size() > static_cast<std::size_t>(INT32_MAX))
    throw Error("more than 2^31 - 1 users: not supported");
  out.owner = assign_owners(user_counts, seed, comm.size());

  // 5. Every rating to its user's rank, in file order (ranks hold consecutive byte ranges, and the
  // all-to-all concatenates in rank order), so "the last duplicate wins" means what it means in one process.
  std::vector<std::vector<Record>> to(static_cast<std::size_t>(comm.size()));
  bool any_timestamp = false;
  for (std::size_t i = 0; i < read->user_ids.size(); ++i) {
    const auto u = static_cast<std::int32_t>(
        std::lower_bound(out.user_ids.begin(), out.user_ids.end(), read->user_ids[i]) - out.user_ids.begin());
    to[static_cast<std::size_t>(out.owner[static_cast<std::size_t>(u)])].push_back(
        {u, column_of[static_cast<std::size_t>(read->catalog_movie[i])], read->ratings[i],
         read->timestamps[i]});
    any_timestamp = any_timestamp || read->timestamps[i] != 0;
  }
  read.reset();
  std::vector<Record> records = comm.exchange(to);
  to = {};
  std::vector<std::uint8_t> timestamped{static_cast<std::uint8_t>(any_timestamp ? 1 : 0)};
  comm.max(timestamped);

  // 6. The local matrix: this rank's users in ascending order, duplicates resolved (the last one kept).
  for (std::int32_t u = 0; u < out.n_users(); ++u) {
    if (out.owner[static_cast<std::size_t>(u)] == comm.rank()) out.local_users.push_back(u);
  }
  std::vector<std::int32_t> local_of(out.user_ids.size(), -1);
  for (std::size_t r = 0; r < out.local_users.size(); ++r)
    local_of[static_cast<std::size_t>(out.local_users[r])] = static_cast<std::int32_t>(r);
  std::vector<std::int64_t> order(records.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    const auto& ra = records[static_cast<std::size_t>(a)];
    const auto& rb = records[static_cast<std::size_t>(b)];
    return ra.user != rb.user ? ra.user < rb.user : ra.column < rb.column;
  });
  SparseMatrix csr;
  csr.rows = static_cast<std::int32_t>(out.local_users.size());
  csr.cols = static_cast<std::int32_t>(movie_ids.size());
  csr.indptr.assign(static_cast<std::size_t>(csr.rows) + 1, 0);
  std::vector<std::uint32_t> timestamps;
  std::int64_t duplicates = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& r = records[static_cast<std::size_t>(order[i])];
    if (i + 1 < order.size()) {
      const auto& next = records[static_cast<std::size_t>(order[i + 1])];
      if (next.user == r.user && next.column == r.column) {  // a later rating of the same pair follows
        ++duplicates;
        continue;
      }
    }
    ++csr.indptr[static_cast<std::size_t>(local_of[static_cast<std::size_t>(r.user)]) + 1];
    csr.indices.push_back(r.column);
    csr.values.push_back(r.rating);
    if (timestamped[0]) timestamps.push_back(r.timestamp);
  }
  records = {};
  for (std::size_t r = 1; r < csr.indptr.size(); ++r) csr.indptr[r] += csr.indptr[r - 1];
  std::vector<std::int64_t> local_ids;
  local_ids.reserve(out.local_users.size());
  for (const auto u : out.local_users) local_ids.push_back(out.user_ids[static_cast<std::size_t>(u)]);
  out.data.ratings = RatingMatrix::from_csr(std::move(csr), std::move(timestamps), std::move(local_ids),
                                            std::move(movie_ids));

  // 7. Global statistics.
  summarize(comm, out);
  std::int64_t totals[2] = {0, duplicates};
  comm.sum(totals);
  out.data.report.duplicates = totals[1];
  if (totals[1] > 0 && comm.root()) {
    spdlog::warn("{}: {} duplicate (user, movie) rating{}; the last one in the file was kept", file.string(),
                 totals[1], totals[1] == 1 ? "" : "s");
  }
  return out;
}

Partition with_ratings(Communicator& comm, const Partition& part, RatingMatrix ratings) {
  const auto& local = part.data.ratings;
  if (ratings.n_users() != local.n_users() || ratings.n_movies() != local.n_movies())
    throw InvalidArgument("with_ratings: the ratings do not have the partition's users and movies");
  Partition out;
  out.data.ratings = std::move(ratings);
  out.user_ids = part.user_ids;
  out.owner = part.owner;
  out.local_users = part.local_users;
  summarize(comm, out);
  return out;
}

}  // namespace cinefactor::dist
