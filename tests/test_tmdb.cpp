// The TMDB client against a fake TMDB server (an httplib::Server on an ephemeral loopback port):
// poster and trailer choice, 404, slow answers, malformed JSON, the imdb -> find path, the disk
// cache with its TTL, in-flight de-duplication, and no requests at all without credentials.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/text.hpp"
#include "server/tmdb_client.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kFakeWorkers = 32;

class FakeTmdb {
 public:
  // Behaviour per TMDB movie id: "ok", "notfound", "slow", "malformed", "noposter".
  std::map<std::int64_t, std::string> behaviour;
  std::chrono::milliseconds slow_delay{700};

  FakeTmdb() {
    server_.Get(R"(/3/movie/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      const auto id = std::stoll(req.matches[1].str());
      const auto it = behaviour.find(id);
      const std::string what = it == behaviour.end() ? "notfound" : it->second;
      if (what == "notfound") {
        res.status = 404;
        res.set_content(R"({"success":false,"status_code":34,"status_message":"not found"})",
                        "application/json");
        return;
      }
      if (what == "malformed") {
        res.set_content(R"({"poster_path": "/x.jpg", "videos": [)", "application/json");
        return;
      }
      if (what == "slow") std::this_thread::sleep_for(slow_delay);
      nlohmann::json body{
          {"id", id},
          {"title", "Movie " + std::to_string(id)},
          {"poster_path", what == "noposter" ? nlohmann::json(nullptr)
                                             : nlohmann::json("/poster" + std::to_string(id) + ".jpg")}};
      body["videos"]["results"] = nlohmann::json::array({
          {{"site", "YouTube"}, {"type", "Teaser"}, {"official", true}, {"key", "teaser"}},
          {{"site", "YouTube"}, {"type", "Trailer"}, {"official", false}, {"key", "fanmade"}},
          {{"site", "Vimeo"}, {"type", "Trailer"}, {"official", true}, {"key", "vimeo"}},
          {{"site", "YouTube"},
           {"type", "Trailer"},
           {"official", true},
           {"key", "official" + std::to_string(id)}},
          {{"site", "YouTube"}, {"type", "Clip"}, {"official", true}, {"key", "clip"}},
      });
      res.set_content(body.dump(), "application/json");
    });
    server_.Get(R"(/3/find/(tt\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      const auto imdb = req.matches[1].str();
      nlohmann::json body{{"movie_results", nlohmann::json::array()},
                          {"tv_results", nlohmann::json::array()}};
      if (imdb == "tt0114709" && req.get_param_value("external_source") == "imdb_id") {
        body["movie_results"].push_back({{"id", 862}, {"title", "Toy Story"}});
      }
      res.set_content(body.dump(), "application/json");
    });
    // One worker per concurrent look-up the tests make (httplib's default pool is sized to the machine:
    // with fewer workers than slow requests, queued ones would outlast the client's timeout).
    server_.new_task_queue = [] { return new httplib::ThreadPool(kFakeWorkers); };
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~FakeTmdb() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int count(const std::string& path) {
    std::lock_guard lock(mutex_);
    return counts_[path];
  }
  int total() {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& [p, c] : counts_) n += c;
    return n;
  }
  std::string last_api_key() {
    std::lock_guard lock(mutex_);
    return last_api_key_;
  }
  std::string last_authorization() {
    std::lock_guard lock(mutex_);
    return last_authorization_;
  }

 private:
  void record(const httplib::Request& req) {
    std::lock_guard lock(mutex_);
    ++counts_[req.path];
    last_api_key_ = req.get_param_value("api_key");
    last_authorization_ = req.get_header_value("Authorization");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::map<std::string, int> counts_;
  std::string last_api_key_;
  std::string last_authorization_;
};

Movie movie(std::int64_t id, std::optional<std::int64_t> tmdb,
            std::optional<std::int64_t> imdb = std::nullopt) {
  Movie m;
  m.id = id;
  m.title = "Movie " + std::to_string(id);
  m.year = 1999;
  m.tmdb_id = tmdb;
  m.imdb_id = imdb;
  return m;
}

// One movie's media (the server always asks for several at once, under one deadline).
MovieMedia media_of(TmdbClient& client, const Movie& m) {
  const Movie* one[] = {&m};
  return client.media(one).front();
}

class TmdbTest : public ::testing::Test {
 protected:
  TmdbOptions options() {
    TmdbOptions o;
    o.base_url = fake.url();
    o.api_key = "k3y";
    o.cache_dir = tmp.path() / "cache";
    o.wait = 2000ms;
    o.request_timeout = 3000ms;
    return o;
  }
  FakeTmdb fake;
  test::TempDir tmp;
};

TEST_F(TmdbTest, SuccessPicksThePosterAndTheOfficialYoutubeTrailer) {
  fake.behaviour[862] = "ok";
  TmdbClient client(options());
  ASSERT_TRUE(client.enabled());
  const auto m = movie(1, 862, 114709);
  const auto media = media_of(client, m);
  EXPECT_TRUE(media.poster_from_tmdb);
  EXPECT_EQ(media.poster_url, "https://image.tmdb.org/t/p/w342/poster862.jpg");
  EXPECT_TRUE(media.trailer_from_tmdb);
  EXPECT_EQ(media.trailer_url, "https://www.youtube.com/watch?v=official862");
  EXPECT_EQ(media.imdb_url, "https://www.imdb.com/title/tt0114709/");
  EXPECT_EQ(media.tmdb_url, "https://www.themoviedb.org/movie/862");
  EXPECT_EQ(fake.count("/3/movie/862"), 1);
  EXPECT_EQ(fake.last_api_key(), "k3y");
  // The answer is cached on disk as one JSON file per movie.
  const auto cached = nlohmann::json::parse(test::read_text(tmp.path() / "cache" / "tmdb-862.json"));
  EXPECT_EQ(cached["status"], "ok");
  EXPECT_EQ(cached["poster_path"], "/poster862.jpg");
}

TEST_F(TmdbTest, BearerTokenGoesInTheHeader) {
  fake.behaviour[5] = "ok";
  auto o = options();
  o.api_key.clear();
  o.bearer_token = "v4token";
  TmdbClient client(o);
  media_of(client, movie(5, 5));
  EXPECT_EQ(fake.last_authorization(), "Bearer v4token");
  EXPECT_EQ(fake.last_api_key(), "");
}

TEST_F(TmdbTest, NotFoundGivesPlaceholdersAndIsCachedNegatively) {
  TmdbClient client(options());
  const auto m = movie(7, 404000);
  auto media = media_of(client, m);
  EXPECT_FALSE(media.poster_from_tmdb);
  EXPECT_EQ(media.poster_url, "/poster/7.svg");
  EXPECT_EQ(media.trailer_url, "https://www.youtube.com/results?search_query=Movie+7+1999+trailer");
  media = media_of(client, m);
  EXPECT_EQ(fake.count("/3/movie/404000"), 1);
  EXPECT_EQ(client.stats().failures, 0);
}

TEST_F(TmdbTest, SlowAnswerServesThePlaceholderNowAndFillsTheCacheLater) {
  fake.behaviour[42] = "slow";
  fake.slow_delay = 1500ms;
  auto o = options();
  o.wait = 100ms;
  TmdbClient client(o);
  const auto m = movie(3, 42);
  const auto start = Clock::now();
  const auto first = media_of(client, m);
  const auto waited = Clock::now() - start;
  EXPECT_LT(waited, 1000ms) << "the caller must not wait for a slow TMDB";
  EXPECT_FALSE(first.poster_from_tmdb);
  EXPECT_EQ(first.poster_url, "/poster/3.svg");
  EXPECT_EQ(client.stats().timeouts, 1);
  client.wait_idle();
  const auto second = media_of(client, m);
  EXPECT_TRUE(second.poster_from_tmdb);
  EXPECT_EQ(second.poster_url, "https://image.tmdb.org/t/p/w342/poster42.jpg");
  EXPECT_EQ(fake.count("/3/movie/42"), 1);
}

TEST_F(TmdbTest, MalformedJsonIsAFailureNotACrash) {
  fake.behaviour[9] = "malformed";
  TmdbClient client(options());
  const auto media = media_of(client, movie(9, 9));
  EXPECT_FALSE(media.poster_from_tmdb);
  EXPECT_EQ(media.poster_url, "/poster/9.svg");
  EXPECT_EQ(client.stats().failures, 1);
  media_of(client, movie(9, 9));  // cached with the short error TTL: no second request yet
  EXPECT_EQ(fake.count("/3/movie/9"), 1);
}

TEST_F(TmdbTest, ImdbIdIsResolvedThroughFind) {
  fake.behaviour[862] = "ok";
  TmdbClient client(options());
  const auto media = media_of(client, movie(1, std::nullopt, 114709));
  EXPECT_EQ(fake.count("/3/find/tt0114709"), 1);
  EXPECT_EQ(fake.count("/3/movie/862"), 1);
  EXPECT_TRUE(media.poster_from_tmdb);
  EXPECT_EQ(media.tmdb_url, "https://www.themoviedb.org/movie/862");
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "cache" / "imdb-114709.json"));
  // An imdb id TMDB does not know: one find request, no movie request.
  const auto unknown = media_of(client, movie(2, std::nullopt, 1234567));
  EXPECT_EQ(fake.count("/3/find/tt1234567"), 1);
  EXPECT_FALSE(unknown.poster_from_tmdb);
  EXPECT_EQ(unknown.imdb_url, "https://www.imdb.com/title/tt1234567/");
}

TEST_F(TmdbTest, CacheHitsSendNoRequestAcrossClientsAndConcurrentCallers) {
  fake.behaviour[77] = "slow";
  fake.slow_delay = 300ms;
  {
    TmdbClient client(options());
    const auto m = movie(77, 77);
    std::vector<std::thread> threads;
    std::atomic<int> from_tmdb{0};
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        if (media_of(client, m).poster_from_tmdb) from_tmdb.fetch_add(1);
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(from_tmdb.load(), 16);
    EXPECT_EQ(fake.count("/3/movie/77"), 1) << "concurrent look-ups of one movie share one request";
  }
  TmdbClient fresh(options());  // a new process reads the disk cache
  EXPECT_TRUE(media_of(fresh, movie(77, 77)).poster_from_tmdb);
  EXPECT_EQ(fake.count("/3/movie/77"), 1);
  EXPECT_GE(fresh.stats().cache_hits, 1);
}

TEST_F(TmdbTest, ManyMoviesShareOneDeadline) {
  for (std::int64_t id = 100; id < 110; ++id) fake.behaviour[id] = "slow";
  fake.slow_delay = 1500ms;
  auto o = options();
  o.wait = 150ms;
  TmdbClient client(o);
  std::vector<Movie> movies;
  for (std::int64_t id = 100; id < 110; ++id) movies.push_back(movie(id, id));
  std::vector<const Movie*> ptrs;
  for (const auto& m : movies) ptrs.push_back(&m);
  const auto start = Clock::now();
  const auto media = client.media(ptrs);
  EXPECT_LT(Clock::now() - start, 1000ms) << "ten slow look-ups must not add up (nor wait for one)";
  ASSERT_EQ(media.size(), 10u);
  for (const auto& m : media) EXPECT_FALSE(m.poster_from_tmdb);
  client.wait_idle();
  for (const auto& m : client.media(ptrs)) EXPECT_TRUE(m.poster_from_tmdb);
  EXPECT_EQ(fake.total(), 10);
}

TEST_F(TmdbTest, ExpiredEntriesAreFetchedAgain) {
  fake.behaviour[11] = "ok";
  auto o = options();
  o.ttl = 400ms;
  TmdbClient client(o);
  const auto m = movie(11, 11);
  media_of(client, m);
  media_of(client, m);
  EXPECT_EQ(fake.count("/3/movie/11"), 1);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(media_of(client, m).poster_from_tmdb);
  EXPECT_EQ(fake.count("/3/movie/11"), 2);
}

TEST_F(TmdbTest, CorruptCacheFileIsIgnored) {
  fake.behaviour[12] = "ok";
  test::write_text(tmp.path() / "cache" / "tmdb-12.json", "{not json");
  TmdbClient client(options());
  EXPECT_TRUE(media_of(client, movie(12, 12)).poster_from_tmdb);
  EXPECT_EQ(fake.count("/3/movie/12"), 1);
}

TEST_F(TmdbTest, NoCredentialsNoRequests) {
  fake.behaviour[862] = "ok";
  auto o = options();
  o.api_key.clear();
  o.bearer_token.clear();
  TmdbClient client(o);
  EXPECT_FALSE(client.enabled());
  const auto media = media_of(client, movie(1, 862, 114709));
  EXPECT_EQ(media.poster_url, "/poster/1.svg");
  EXPECT_EQ(media.tmdb_url, "https://www.themoviedb.org/movie/862");
  EXPECT_EQ(fake.total(), 0);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "cache"));
}

TEST(TmdbOffline, UnreachableServerFallsBackToPlaceholders) {
  test::TempDir tmp;
  TmdbOptions o;
  o.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  o.api_key = "k";
  o.cache_dir = tmp.path();
  o.wait = 1000ms;
  TmdbClient client(o);
  const auto media = media_of(client, movie(5, 5));
  EXPECT_EQ(media.poster_url, "/poster/5.svg");
  EXPECT_EQ(client.stats().failures, 1);
}

TEST(TmdbOffline, LinksAreBuiltFromTheIds) {
  Movie m;
  m.id = 1;
  m.title = "Amélie & Co";
  m.year = 2001;
  m.imdb_id = 211915;
  m.tmdb_id = 194;
  const auto media = offline_media(m);
  EXPECT_EQ(media.imdb_url, "https://www.imdb.com/title/tt0211915/");
  EXPECT_EQ(media.tmdb_url, "https://www.themoviedb.org/movie/194");
  EXPECT_EQ(media.trailer_url,
            "https://www.youtube.com/results?search_query=Am%C3%A9lie+%26+Co+2001+trailer");
  EXPECT_EQ(media.poster_url, "/poster/1.svg");
  m.imdb_id.reset();
  m.tmdb_id.reset();
  EXPECT_EQ(offline_media(m).imdb_url, "");
  EXPECT_EQ(offline_media(m).tmdb_url, "");
}

TEST(TmdbOffline, PlaceholderPosterEscapesAndWrapsTheTitle) {
  Movie m;
  m.id = 31;
  m.title =
      "Tom & Jerry <The \"Movie\"> with a rather long title that will not fit on one poster line at all";
  m.year = 1992;
  const auto svg = placeholder_poster_svg(m);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("Tom &amp; Jerry"), std::string::npos);
  EXPECT_NE(svg.find("&lt;The &quot;Movie&quot;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<The"), std::string::npos);
  EXPECT_NE(svg.find(">1992</text>"), std::string::npos);
  EXPECT_GE(std::count(svg.begin(), svg.end(), '\n'), 8) << "the title is wrapped over several lines";
  EXPECT_NE(svg.find("\u2026"), std::string::npos) << "a title too long for the poster ends in an ellipsis";
  Movie other = m;
  other.id = 32;
  EXPECT_NE(placeholder_poster_svg(other).substr(0, 400), svg.substr(0, 400)) << "colour depends on the id";
}

TEST(TextUtil, WrapWordsCountsCharactersNotBytes) {
  const auto lines = text::wrap_words("Amélie Poulain était là", 8, 5);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Amélie");
  EXPECT_EQ(lines[1], "Poulain");
  EXPECT_EQ(lines[2], "était là");
  const auto cut = text::wrap_words("Supercalifragilistic", 8, 5);
  EXPECT_EQ(cut, (std::vector<std::string>{"Supercal", "ifragili", "stic"}));
  const auto limited = text::wrap_words("one two three four five six", 3, 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[1], "tw\u2026");
  EXPECT_TRUE(text::wrap_words("", 8, 3).empty());
}

TEST(TextUtil, Escaping) {
  EXPECT_EQ(text::html_escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&#39;");
  EXPECT_EQ(text::url_encode_query("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
  EXPECT_EQ(text::ascii_lower("AbC Émile"), "abc Émile");
}

}  // namespace
}  // namespace cinefactor
