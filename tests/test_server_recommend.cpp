// Recommendations over real HTTP on an ephemeral loopback port: the JSON API, similar movies, the
// no-JavaScript results page, every kind of bad input, many parallel clients, and hot reload of the
// model file while clients hammer the API (zero failed requests; a corrupt file is refused).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include "cinefactor/model_reloader.hpp"
#include "cinefactor/recommender.hpp"
#include "cinefactor/server.hpp"
#include "core/atomic_file.hpp"
#include "core/rating_grid.hpp"
#include "core/text.hpp"
#include "serve_process.hpp"
#include "server/catalog_index.hpp"
#include "server_fixtures.hpp"

namespace cinefactor {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kJson = "application/json";
constexpr const char* kForm = "application/x-www-form-urlencoded";

std::unique_ptr<httplib::Client> client_for(const Server& server) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", server.port());
  c->set_read_timeout(30s);
  c->set_connection_timeout(10s);
  return c;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields)
    out += (out.empty() ? "" : "&") + k + "=" + httplib::detail::encode_query_param(v);
  return out;
}

class RecommendServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { test::trained_models(); }

  void SetUp() override {
    const auto& t = test::trained_models();
    registry = std::make_shared<ModelRegistry>();
    registry->put(t.svd, "svd-16");
    registry->put(t.nmf, "nmf-8");
    start();
  }
  void start() {
    ServerOptions o;
    o.port = 0;
    o.tmdb.cache_dir = tmp.path() / "tmdb";
    server = std::make_unique<Server>(o, registry);
    server->start();
    cli = client_for(*server);
  }
  const Model& svd() const { return *test::trained_models().svd; }

  json post_json(const json& body, int expected_status = 200) {
    return post_raw(body.dump(), kJson, expected_status);
  }
  json post_raw(const std::string& body, const std::string& type, int expected_status) {
    auto res = cli->Post("/api/v1/recommendations", body, type);
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, expected_status) << body.substr(0, 300) << "\n-> " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), kJson);
    return json::parse(res->body);
  }
  // A 4xx JSON answer whose message contains every one of `expected`.
  void expect_error(const std::string& body, const std::string& type, int status,
                    const std::vector<std::string>& expected) {
    const auto answer = post_raw(body, type, status);
    ASSERT_TRUE(answer.contains("error")) << body;
    EXPECT_EQ(answer["error"]["status"], status);
    const auto message = answer["error"]["message"].get<std::string>();
    for (const auto& e : expected)
      EXPECT_NE(message.find(e), std::string::npos) << body << "\n-> " << message;
  }

  test::TempDir tmp;
  std::shared_ptr<ModelRegistry> registry;
  std::unique_ptr<Server> server;
  std::unique_ptr<httplib::Client> cli;
};

// --- the JSON API --------------------------------------------------------------------------------------

TEST_F(RecommendServerTest, ApiAnswersWhatTheRecommenderComputes) {
  const auto rated = test::most_rated(svd(), 15);
  auto body = test::ratings_body(rated);
  body["years"] = "new";
  const auto answer = post_json(body);
  EXPECT_EQ(answer["algorithm"], "svd");  // the first model loaded is the default
  const auto& recs = answer["recommendations"];
  ASSERT_EQ(recs.size(), 5u);

  // The same request straight to the engine.
  RecommendRequest direct;
  for (const auto& r : body["ratings"]) direct.ratings.push_back({r["movie_id"], r["rating"].get<float>()});
  direct.filters.years = YearFilter::newer;
  direct.top_n = 5;
  const auto expected = registry->find("svd")->recommender->recommend(direct);
  ASSERT_EQ(expected.size(), 5u);
  const std::set<std::int64_t> rated_set(rated.begin(), rated.end());
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& r = recs[i];
    EXPECT_EQ(r["movie"]["id"], expected[i].movie_id);
    EXPECT_NEAR(r["score"].get<double>(), expected[i].score, 1e-3);
    EXPECT_GE(r["movie"]["year"].get<int>(), 2000);
    EXPECT_FALSE(rated_set.contains(r["movie"]["id"].get<std::int64_t>()));
    EXPECT_TRUE(r["movie"].contains("poster"));
    EXPECT_TRUE(r["movie"]["links"]["trailer"].is_string());
    EXPECT_EQ(r.contains("predicted_rating"), svd().predicts_ratings());
    ASSERT_FALSE(r["because"].empty());
    for (const auto& c : r["because"]) {
      EXPECT_TRUE(rated_set.contains(c["movie_id"].get<std::int64_t>()));
      EXPECT_FALSE(c["title"].get<std::string>().empty());
      EXPECT_GT(c["contribution"].get<double>(), 0.0);
      EXPECT_GT(c["share"].get<double>(), 0.0);
      EXPECT_LE(c["share"].get<double>(), 1.0);
    }
  }
}

TEST_F(RecommendServerTest, ApiChoosesTheAlgorithmAndAppliesEveryFilter) {
  auto body = test::ratings_body(test::most_rated(svd(), 10));
  body["algorithm"] = "nmf";
  body["n"] = 8;
  body["years"] = {{"from", 1980}, {"to", 1999}};
  body["genres"] = {{"include", {"Comedy", "drama"}}, {"exclude", {"Horror"}}};
  body["min_ratings"] = 30;
  const auto answer = post_json(body);
  EXPECT_EQ(answer["algorithm"], "nmf");
  const auto& recs = answer["recommendations"];
  ASSERT_EQ(recs.size(), 8u);
  const bool predicts = test::trained_models().nmf->predicts_ratings();
  for (const auto& r : recs) {
    const auto& m = r["movie"];
    EXPECT_GE(m["year"].get<int>(), 1980);
    EXPECT_LE(m["year"].get<int>(), 1999);
    EXPECT_GE(m["rating_count"].get<int>(), 30);
    std::set<std::string> genres(m["genres"].begin(), m["genres"].end());
    EXPECT_TRUE(genres.contains("Comedy") || genres.contains("Drama")) << m.dump();
    EXPECT_FALSE(genres.contains("Horror"));
    EXPECT_EQ(r.contains("predicted_rating"), predicts);
  }
  // Only an upper year bound.
  body["years"] = {{"to", 1985}};
  const json upper_only = post_json(body);  // kept alive: the loop below walks into it
  for (const auto& r : upper_only["recommendations"]) EXPECT_LE(r["movie"]["year"].get<int>(), 1985);
}

TEST_F(RecommendServerTest, ApiRejectsBadInputNamingTheProblem) {
  const auto ok = test::most_rated(svd(), 3);
  const auto id = std::to_string(ok[0]);
  auto with = [&](const std::string& key, const json& value) {
    auto b = test::ratings_body(ok);
    b[key] = value;
    return b.dump();
  };
  auto rating = [&](const std::string& movie, const std::string& stars) {
    return R"({"ratings":[{"movie_id":)" + movie + R"(,"rating":)" + stars + "}]}";
  };
  std::string many = R"({"ratings":[)";
  for (int i = 0; i < 501; ++i)
    many += (i ? "," : "") + std::string(R"({"movie_id":)") + std::to_string(i + 1) + R"(,"rating":4})";
  many += "]}";

  const std::vector<std::tuple<std::string, std::string, int, std::vector<std::string>>> cases{
      {"{", kJson, 400, {"invalid JSON"}},
      {"", kJson, 400, {"invalid JSON"}},
      {R"({"ratings":[}])", kJson, 400, {"invalid JSON"}},
      {"[1,2]", kJson, 400, {"expected a JSON object"}},
      {"{}", kJson, 400, {"ratings"}},
      {R"({"ratings":{}})", kJson, 400, {"ratings", "array"}},
      {R"({"ratings":[]})", kJson, 400, {"rate at least one movie"}},
      {R"({"ratings":[{"movie_id":999999991,"rating":4},{"movie_id":999999992,"rating":3}]})",
       kJson,
       400,
       {"unknown movie ids", "999999991", "999999992"}},
      {rating(id, "0"), kJson, 400, {"ratings[0].rating", "0.5 to 5"}},
      // Numbers beyond double's range are valid JSON: a 400 naming the field, not a 500.
      {rating(id, "1e400"), kJson, 400, {"ratings[0].rating: the number 1e400 is outside the range"}},
      {rating(id, "-1e400"), kJson, 400, {"ratings[0].rating", "-1e400"}},
      {rating("1e400", "4"), kJson, 400, {"ratings[0].movie_id", "1e400"}},
      {R"({"x":[[0,2e999]]})", kJson, 400, {"x[0][1]: the number 2e999"}},
      {rating(id, "4.25"), kJson, 400, {"ratings[0].rating", "steps of 0.5"}},
      {rating(id, "5.5"), kJson, 400, {"ratings[0].rating"}},
      {rating(id, "-1"), kJson, 400, {"ratings[0].rating"}},
      {rating(id, "\"4\""), kJson, 400, {"ratings[0].rating"}},
      {rating(id, "null"), kJson, 400, {"ratings[0].rating"}},
      {rating("-3", "4"), kJson, 400, {"ratings[0].movie_id"}},
      {rating("1.5", "4"), kJson, 400, {"ratings[0].movie_id"}},
      {rating("\"1\"", "4"), kJson, 400, {"ratings[0].movie_id"}},
      {rating("18446744073709551615", "4"), kJson, 400, {"ratings[0].movie_id"}},
      {R"({"ratings":[4]})", kJson, 400, {"ratings[0]"}},
      {R"({"ratings":[{"movie_id":)" + id + R"(,"rating":4,"extra":1}]})", kJson, 400, {"ratings[0]"}},
      {R"({"ratings":[{"movie_id":)" + id + R"(,"rating":4},{"movie_id":)" + id + R"(,"rating":3}]})",
       kJson,
       400,
       {"more than once", id}},
      {many, kJson, 400, {"at most 500 ratings"}},
      {with("years", "recent"), kJson, 400, {"years", "recent"}},
      {with("years", 2000), kJson, 400, {"years"}},
      {with("years", json::object()), kJson, 400, {"years"}},
      {with("years", {{"from", 2000}, {"to", 1990}}), kJson, 400, {"years", "empty"}},
      {with("years", {{"from", "1990"}}), kJson, 400, {"years.from"}},
      {with("years", {{"since", 1990}}), kJson, 400, {"years", "since"}},
      {with("genres", {{"include", {"Nope"}}}), kJson, 400, {"unknown genre", "Nope"}},
      {with("genres", {{"include", "Drama"}}), kJson, 400, {"genres.include"}},
      {with("genres", {{"include", {1}}}), kJson, 400, {"genres.include[0]"}},
      {with("genres", {{"only", {"Drama"}}}), kJson, 400, {"genres", "only"}},
      {with("genres", "Drama"), kJson, 400, {"genres"}},
      {with("algorithm", "bogus"), kJson, 400, {"algorithm", "bogus", "svd, nmf"}},
      {with("algorithm", 3), kJson, 400, {"algorithm"}},
      {with("n", 0), kJson, 400, {"n:", "1 to 100"}},
      {with("n", 101), kJson, 400, {"n:"}},
      {with("n", "5"), kJson, 400, {"n:"}},
      {with("n", 2.5), kJson, 400, {"n:"}},
      {with("min_ratings", -1), kJson, 400, {"min_ratings"}},
      {with("limit", 5), kJson, 400, {"unknown field", "limit"}},
      {test::ratings_body(ok).dump(), "text/plain", 415, {"application/json", "text/plain"}},
      {test::ratings_body(ok).dump(), kForm, 415, {"application/json"}},
      {"r1=4", kForm, 415, {"application/json"}},
      {std::string(100 * 1024, ' '), kJson, 413, {"larger than the limit"}},
  };
  for (const auto& [body, type, status, expected] : cases) {
    SCOPED_TRACE(body.substr(0, 120) + " [" + type + "]");
    expect_error(body, type, status, expected);
  }
  // "n" outside double's range (the body as sent, since json would not hold it).
  {
    const auto body = test::ratings_body(ok).dump();
    auto res =
        cli->Post("/api/v1/recommendations", body.substr(0, body.size() - 1) + R"(,"n":1e400})", kJson);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_NE(res->body.find("n: the number 1e400 is outside the range of a double"), std::string::npos)
        << res->body;
  }
  // No Content-Type at all.
  auto res = cli->Post("/api/v1/recommendations", test::ratings_body(ok).dump(), "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415) << res->body;
  // Content-Type parameters are fine.
  EXPECT_EQ(post_raw(test::ratings_body(ok).dump(), "application/json; charset=utf-8", 200)["recommendations"]
                .size(),
            5u);
  // Still serving.
  auto health = cli->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// A Content-Length that is not a number of bytes is a malformed request (400), not a large one (413).
TEST_F(RecommendServerTest, NegativeContentLengthIs400) {
  for (const std::string length : {"-5", "abc", "5x"}) {
    test::RawConnection c(server->port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(
        c.send_all("POST /api/v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                   "application/json\r\nContent-Length: " +
                   length + "\r\n\r\n{}"));
    const auto r = c.read_response(10s);
    EXPECT_EQ(r.status, 400) << length << ": " << r.head << r.body;
  }
  auto health = cli->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(RecommendServerTest, RatingsCapIsAConfigurableOption) {
  ServerOptions o;
  o.max_ratings = 2;
  o.port = 0;
  o.tmdb.cache_dir = tmp.path() / "tmdb2";
  Server small(o, registry);
  small.start();
  auto c = client_for(small);
  auto res = c->Post("/api/v1/recommendations", test::ratings_body(test::most_rated(svd(), 3)).dump(), kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("at most 2 ratings"), std::string::npos) << res->body;
}

TEST_F(RecommendServerTest, OpenApiStatesTheLimitsTheServerApplies) {
  auto res = cli->Get("/api/v1/openapi.json");
  ASSERT_TRUE(res);
  const auto doc = json::parse(res->body);
  const auto& request = doc["components"]["schemas"]["RecommendationRequest"]["properties"];
  EXPECT_EQ(request["ratings"]["maxItems"].get<std::size_t>(), ServerOptions{}.max_ratings);
  EXPECT_EQ(request["n"]["default"], 5);
  EXPECT_EQ(request["min_ratings"]["default"], kDefaultMinRatings);
  const auto& responses = doc["paths"]["/api/v1/recommendations"]["post"]["responses"];
  for (const std::string status : {"200", "400", "413", "415"})
    EXPECT_TRUE(responses.contains(status)) << status;
  const auto& page = doc["paths"]["/recommendations"]["post"]["responses"];
  for (const std::string status : {"200", "400", "413", "415"}) EXPECT_TRUE(page.contains(status)) << status;
  std::set<std::string> similar_params;
  for (const auto& p : doc["paths"]["/api/v1/movies/{id}/similar"]["get"]["parameters"]) {
    if (p.contains("name")) similar_params.insert(p["name"].get<std::string>());
  }
  EXPECT_EQ(similar_params, (std::set<std::string>{"n", "years", "min_ratings", "algorithm"}));
}

// --- similar movies --------------------------------------------------------------------------------------

TEST_F(RecommendServerTest, SimilarMoviesMatchTheRecommender) {
  const auto id = test::most_rated(svd(), 1)[0];
  auto res = cli->Get("/api/v1/movies/" + std::to_string(id) + "/similar?n=7");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto body = json::parse(res->body);
  EXPECT_EQ(body["movie"]["id"], id);
  EXPECT_EQ(body["algorithm"], "svd");
  const auto expected = registry->find("svd")->recommender->similar(id, Filters{}, 7);
  ASSERT_EQ(body["similar"].size(), 7u);
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(body["similar"][i]["movie"]["id"], expected[i].movie_id);
    EXPECT_NEAR(body["similar"][i]["similarity"].get<double>(), expected[i].similarity, 1e-3);
    EXPECT_NE(body["similar"][i]["movie"]["id"], id);
  }
  for (const std::string years : {"new", "1980-1989", "-1970", "2010-"}) {
    Filters f;
    auto r = cli->Get("/api/v1/movies/" + std::to_string(id) +
                      "/similar?n=5&algorithm=nmf&min_ratings=5&years=" + years);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << years << ": " << r->body;
    const auto b = json::parse(r->body);
    EXPECT_EQ(b["algorithm"], "nmf");
    for (const auto& s : b["similar"]) {
      const int year = s["movie"]["year"].get<int>();
      if (years == "new") {
        EXPECT_GE(year, 2000);
      }
      if (years == "1980-1989") {
        EXPECT_TRUE(year >= 1980 && year <= 1989) << year;
      }
      if (years == "-1970") {
        EXPECT_LE(year, 1970);
      }
      if (years == "2010-") {
        EXPECT_GE(year, 2010);
      }
      EXPECT_GE(s["movie"]["rating_count"].get<int>(), 5);
    }
  }
}

TEST_F(RecommendServerTest, SimilarRejectsBadParameters) {
  const auto id = std::to_string(test::most_rated(svd(), 1)[0]);
  const std::vector<std::tuple<std::string, int, std::string>> cases{
      {"/api/v1/movies/abc/similar", 400, "path segment {id}"},
      {"/api/v1/movies/0/similar", 400, "path segment {id}"},
      {"/api/v1/movies/999999999/similar", 404, "no movie with id 999999999"},
      {"/api/v1/movies/" + id + "/similar?n=0", 400, "'n'"},
      {"/api/v1/movies/" + id + "/similar?n=101", 400, "'n'"},
      {"/api/v1/movies/" + id + "/similar?n=x", 400, "'n'"},
      {"/api/v1/movies/" + id + "/similar?years=abc", 400, "'years'"},
      {"/api/v1/movies/" + id + "/similar?years=2000-1990", 400, "empty"},
      {"/api/v1/movies/" + id + "/similar?years=19x0-2000", 400, "'years'"},
      {"/api/v1/movies/" + id + "/similar?years=-", 400, "'years'"},
      {"/api/v1/movies/" + id + "/similar?min_ratings=-1", 400, "'min_ratings'"},
      {"/api/v1/movies/" + id + "/similar?algorithm=bogus", 400, "no model named"},
  };
  for (const auto& [path, status, expected] : cases) {
    auto res = cli->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, status) << path << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), kJson) << path;
    EXPECT_NE(res->body.find(expected), std::string::npos) << path << ": " << res->body;
  }
}

// One rule and one message each, whichever way a request comes in: the half-star grid (the CLI's --rate
// too, tests/test_cli_engine.cpp), unknown movie ids (checked once, by the recommender), year ranges.
TEST_F(RecommendServerTest, ApiAndFormShareOneMessagePerRule) {
  auto message = [&](const std::string& path, const std::string& body, const char* type) {
    auto res = body.empty() ? cli->Get(path) : cli->Post(path, body, type);
    EXPECT_TRUE(res) << path;
    if (!res) return std::string();
    EXPECT_EQ(res->status, 400) << path << ": " << res->body;
    return type == std::string(kForm) ? res->body
                                      : json::parse(res->body)["error"]["message"].get<std::string>();
  };
  const auto id = std::to_string(test::most_rated(svd(), 1)[0]);
  EXPECT_EQ(
      message("/api/v1/recommendations", R"({"ratings":[{"movie_id":)" + id + R"(,"rating":4.25}]})", kJson),
      rating_grid_error("ratings[0].rating", kHalfStars, "4.25"));
  EXPECT_EQ(
      message("/api/v1/recommendations",
              R"({"ratings":[{"movie_id":999999991,"rating":4},{"movie_id":999999992,"rating":3}]})", kJson),
      "unknown movie ids 999999991, 999999992 (not in the svd model)");
  EXPECT_EQ(
      message("/api/v1/recommendations",
              R"({"ratings":[{"movie_id":)" + id + R"(,"rating":4},{"movie_id":)" + id + R"(,"rating":3}]})",
              kJson),
      "movie id rated more than once: " + id);
  EXPECT_NE(message("/recommendations", "r999999999=4", kForm)
                .find("unknown movie id 999999999 (not in the svd model)"),
            std::string::npos);
  EXPECT_NE(message("/recommendations", "r" + id + "=4.25", kForm)
                .find(text::html_escape(
                    rating_grid_error("form field 'r" + id + "'", RatingGrid{0.0f, 5.0f, 0.5f}, "\"4.25\""))),
            std::string::npos);
  EXPECT_EQ(message("/api/v1/movies/" + id + "/similar?years=2000-1990", "", kJson),
            "query parameter 'years': the range 2000-1990 is empty (from > to)");
  EXPECT_EQ(message("/api/v1/recommendations",
                    R"({"ratings":[{"movie_id":)" + id + R"(,"rating":4}],"years":{"from":2000,"to":1990}})",
                    kJson),
            "years: the range 2000-1990 is empty (from > to)");
  EXPECT_EQ(
      message("/api/v1/movies/" + id + "/similar?years=soon", "", kJson),
      "query parameter 'years': expected old, new, any or a range FROM-TO like 1980-1999, got \"soon\"");
}

// --- the results page ------------------------------------------------------------------------------------

std::vector<std::int64_t> result_ids(const std::string& html) {
  std::vector<std::int64_t> ids;
  const std::regex re(R"re(<article class="card result" data-movie-id="([0-9]+)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it) {
    ids.push_back(std::stoll((*it)[1].str()));
  }
  return ids;
}

TEST_F(RecommendServerTest, ResultsPageShowsFiveUnratedMoviesOfTheChosenYears) {
  const auto rated = test::most_rated(svd(), 12);
  std::vector<std::pair<std::string, std::string>> fields;
  for (std::size_t i = 0; i < rated.size(); ++i)
    fields.emplace_back("r" + std::to_string(rated[i]), i % 3 ? "4.5" : "1");
  fields.emplace_back("r" + std::to_string(test::most_rated(svd(), 13)[12]), "0");  // not seen: dropped
  fields.emplace_back("years", "new");
  fields.emplace_back("shown", std::to_string(rated[0]) + "," + std::to_string(rated[1]));
  auto res = cli->Post("/recommendations", form_body(fields), kForm);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const auto& html = res->body;
  const auto ids = result_ids(html);
  ASSERT_EQ(ids.size(), 5u) << html;
  const std::set<std::int64_t> rated_set(rated.begin(), rated.end());
  for (auto id : ids) {
    EXPECT_FALSE(rated_set.contains(id));
    const auto* m = registry->find("svd")->catalog->find(id);
    ASSERT_NE(m, nullptr);
    EXPECT_GE(m->movie.year, 2000);
  }
  EXPECT_EQ(count_of(html, "class=\"because\">Because you liked"), 5u);
  EXPECT_EQ(count_of(html, ">IMDb</a>"), 5u);
  EXPECT_EQ(count_of(html, ">Trailer</a>"), 5u);
  EXPECT_EQ(count_of(html, "class=\"poster\""), 5u);
  EXPECT_NE(html.find(svd().predicts_ratings() ? "predicted for you" : "match score"), std::string::npos);
  // The ratings travel on: back to the rating page (GET /) and "recommend again" both carry them.
  EXPECT_NE(html.find("<form method=\"get\" action=\"/\" class=\"back\">"), std::string::npos);
  EXPECT_EQ(count_of(html, "name=\"r" + std::to_string(rated[1]) + "\" value=\"4.5\""), 2u);
  EXPECT_EQ(count_of(html, "name=\"r" + std::to_string(rated[0]) + "\" value=\"1\""), 2u);
  EXPECT_EQ(count_of(html, "name=\"r" + std::to_string(test::most_rated(svd(), 13)[12]) + "\""), 0u);
  EXPECT_NE(
      html.find("name=\"shown\" value=\"" + std::to_string(rated[0]) + "," + std::to_string(rated[1]) + "\""),
      std::string::npos);
  EXPECT_NE(html.find("name=\"years\" value=\"new\" checked"), std::string::npos);

  // Going back shows the rating page with the ratings in the sliders.
  std::string back = "/?years=new&shown=" + std::to_string(rated[0]) + "%2C" + std::to_string(rated[1]);
  for (std::size_t i = 0; i < rated.size(); ++i)
    back += "&r" + std::to_string(rated[i]) + "=" + (i % 3 ? "4.5" : "1");
  auto home = cli->Get(back);
  ASSERT_TRUE(home);
  ASSERT_EQ(home->status, 200);
  EXPECT_NE(home->body.find("name=\"r" + std::to_string(rated[1]) +
                            "\" min=\"0\" max=\"5\" step=\"0.5\" value=\"4.5\""),
            std::string::npos);
}

TEST_F(RecommendServerTest, ResultsPageWithTheOtherAlgorithm) {
  const auto rated = test::most_rated(svd(), 5);
  std::vector<std::pair<std::string, std::string>> fields{{"algorithm", "nmf"}, {"years", "old"}};
  for (auto id : rated) fields.emplace_back("r" + std::to_string(id), "5");
  auto res = cli->Post("/recommendations", form_body(fields), kForm);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto ids = result_ids(res->body);
  ASSERT_EQ(ids.size(), 5u);
  for (auto id : ids) EXPECT_LT(registry->find("nmf")->catalog->find(id)->movie.year, 2000);
  EXPECT_NE(res->body.find("nmf model"), std::string::npos);
  EXPECT_NE(res->body.find("<option value=\"nmf\" selected>"), std::string::npos);
}

TEST_F(RecommendServerTest, ResultsPageAsksForARatingWhenNothingWasRated) {
  const auto ids = test::most_rated(svd(), 3);
  auto res = cli->Post(
      "/recommendations",
      form_body({{"r" + std::to_string(ids[0]), "0"}, {"r" + std::to_string(ids[1]), "0"}, {"years", "any"}}),
      kForm);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("Rate at least one movie"), std::string::npos);
  EXPECT_EQ(result_ids(res->body).size(), 0u);
  EXPECT_NE(res->body.find("Change my ratings"), std::string::npos);
}

TEST_F(RecommendServerTest, ResultsPageSaysSoWhenTheFiltersLeaveNothing) {
  // A model whose every movie is older than 2000: "new" leaves nothing.
  auto m = std::make_shared<Model>();
  m->algorithm = Algorithm::svd;
  constexpr int kMovies = 30;
  m->movie_factors = DenseMatrix(kMovies, 2);
  m->user_factors = DenseMatrix(1, 2, 1.0f);
  m->singular_values = {2.0f, 1.0f};
  m->user_ids = {1};
  for (int i = 0; i < kMovies; ++i) {
    m->movie_ids.push_back(i + 1);
    m->movie_factors(i, 0) = 0.1f * static_cast<float>(i % 7);
    m->movie_factors(i, 1) = 0.2f - 0.03f * static_cast<float>(i % 5);
    CatalogMovie cm;
    cm.movie.id = i + 1;
    cm.movie.title = "Old movie " + std::to_string(i + 1);
    cm.movie.year = 1950 + i;
    cm.movie.genres = {"Drama"};
    cm.rating_count = 100 + i;
    cm.rating_mean = 3.5f;
    m->catalog.push_back(cm);
  }
  registry = std::make_shared<ModelRegistry>();
  registry->put(m, "old-only");
  start();
  auto res = cli->Post("/recommendations", form_body({{"r1", "4"}, {"r2", "2.5"}, {"years", "new"}}), kForm);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("No movie matches these filters"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("released in 2000 or later"), std::string::npos);
  EXPECT_NE(res->body.find("id=\"recommend-again\""), std::string::npos);
  // Any year works.
  res = cli->Post("/recommendations", form_body({{"r1", "4"}, {"r2", "2.5"}, {"years", "any"}}), kForm);
  ASSERT_TRUE(res);
  EXPECT_EQ(result_ids(res->body).size(), 5u);
}

TEST_F(RecommendServerTest, ResultsPageRejectsBadFormsAsPages) {
  const auto id = std::to_string(test::most_rated(svd(), 1)[0]);
  const std::vector<std::tuple<std::string, std::string, int, std::string>> cases{
      {"r" + id + "=4.25", kForm, 400, "steps of 0.5"},
      {"r" + id + "=6", kForm, 400, "form field &#39;r" + id + "&#39;"},
      {"r" + id + "=abc", kForm, 400, "expected a rating"},
      {"r999999999=4", kForm, 400, "unknown movie id 999999999"},
      {"r" + id + "=4&years=recent", kForm, 400, "form field &#39;years&#39;"},
      {"r" + id + "=4&algorithm=bogus", kForm, 400, "no model named"},
      {"r" + id + "=4&shown=1,x", kForm, 400, "shown"},
      {R"({"ratings":[]})", kJson, 415, "application/x-www-form-urlencoded"},
      {"r" + id + "=4", "text/plain", 415, "application/x-www-form-urlencoded"},
      {"r" + id + "=4&" + std::string(100 * 1024, 'x'), kForm, 413, "larger than the limit"},
  };
  for (const auto& [body, type, status, expected] : cases) {
    auto res = cli->Post("/recommendations", body, type);
    ASSERT_TRUE(res) << body.substr(0, 80);
    EXPECT_EQ(res->status, status) << body.substr(0, 80) << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8") << body.substr(0, 80);
    EXPECT_NE(res->body.find(expected), std::string::npos) << body.substr(0, 80) << ": " << res->body;
  }
  std::string many;
  for (int i = 0; i < 501; ++i)
    many += (i ? "&r" : "r") + std::to_string(svd().movie_ids[static_cast<std::size_t>(i)]) + "=3";
  auto res = cli->Post("/recommendations", many, kForm);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("more than 500 ratings"), std::string::npos);
}

TEST_F(RecommendServerTest, HomePageHasTheResultsRegionForTheScript) {
  auto res = cli->Get("/");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("id=\"results\""), std::string::npos);
  EXPECT_NE(res->body.find("<option value=\"svd\" selected>"), std::string::npos);
}

TEST_F(RecommendServerTest, KeepAliveAnswersDoNotWaitForDelayedAcks) {
  // Without TCP_NODELAY each response's body waits ~40 ms for the client's delayed ACK: 40 requests
  // would take >= 1.6 s. They take a few milliseconds each here, even on a loaded machine.
  constexpr int kRequests = 40;
  const auto body = test::ratings_body(test::most_rated(svd(), 5)).dump();
  cli->Get("/healthz");  // connect first
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    auto res = cli->Post("/api/v1/recommendations", body, kJson);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 1000ms) << kRequests << " keep-alive requests took "
                             << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                             << " ms";
}

// --- load ------------------------------------------------------------------------------------------------

TEST_F(RecommendServerTest, ManyParallelClientsGetNoErrors) {
  constexpr int kThreads = 16;
  constexpr int kRequestsEach = 30;
  const auto movies = test::most_rated(svd(), 60);
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::mutex failure_mutex;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = client_for(*server);
      for (int i = 0; i < kRequestsEach; ++i) {
        const auto k = static_cast<std::size_t>(t * kRequestsEach + i);
        std::vector<std::int64_t> rated{movies[k % 60], movies[(k * 7 + 3) % 60], movies[(k * 13 + 5) % 60]};
        std::sort(rated.begin(), rated.end());
        rated.erase(std::unique(rated.begin(), rated.end()), rated.end());
        auto res = [&]() -> httplib::Result {
          switch (i % 4) {
            case 0: {
              auto body = test::ratings_body(rated);
              body["algorithm"] = t % 2 ? "svd" : "nmf";
              auto r = c->Post("/api/v1/recommendations", body.dump(), kJson);
              if (r && r->status == 200 && json::parse(r->body)["recommendations"].size() != 5) ++failures;
              return r;
            }
            case 1:
              return c->Get("/api/v1/movies/" + std::to_string(rated[0]) + "/similar?n=5");
            case 2:
              return c->Post("/recommendations", "r" + std::to_string(rated[0]) + "=4&years=any", kForm);
            default:
              return c->Get("/");
          }
        }();
        if (!res || res->status != 200) {
          ++failures;
          std::lock_guard lock(failure_mutex);
          if (first_failure.empty()) {
            first_failure =
                "request kind " + std::to_string(i % 4) + " #" + std::to_string(i) + ": " +
                (res ? std::to_string(res->status) + " " + res->body : httplib::to_string(res.error()));
          }
        }
        ++done;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(done.load(), kThreads * kRequestsEach);
}

int rank_served(httplib::Client& c) {
  auto res = c.Get("/healthz");
  if (!res || res->status != 200) return -1;
  return json::parse(res->body)["models"][0]["rank"].get<int>();
}

TEST(ModelReload, SwapUnderLoadFailsNoRequestAndRefusesACorruptFile) {
  const auto& t = test::trained_models();
  test::TempDir tmp;
  const auto path = tmp / "served.cfm";
  std::filesystem::copy_file(t.svd_file, path);
  auto registry = std::make_shared<ModelRegistry>();
  ModelReloader reloader(registry, {path});
  constexpr auto kPoll = 50ms;
  reloader.start_watching(kPoll);
  ServerOptions o;
  o.port = 0;
  o.tmdb.cache_dir = tmp / "tmdb";
  Server server(o, registry);
  server.start();

  constexpr int kClients = 8;
  const auto movies = test::most_rated(*t.svd, 40);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::string first_failure;
  std::mutex failure_mutex;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto c = client_for(server);
      std::size_t k = static_cast<std::size_t>(i);
      while (!stop) {
        auto body = test::ratings_body({movies[k % 40], movies[(k + 11) % 40], movies[(k + 23) % 40]});
        body["years"] = k % 2 ? "new" : "old";
        ++k;
        auto res = c->Post("/api/v1/recommendations", body.dump(), kJson);
        if (res && res->status == 200 && json::parse(res->body)["recommendations"].size() == 5) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard lock(failure_mutex);
          if (first_failure.empty()) first_failure = res ? res->body : httplib::to_string(res.error());
        }
      }
    });
  }
  auto health = client_for(server);
  auto wait_for_rank = [&](int rank) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (rank_served(*health) != rank && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    return rank_served(*health);
  };
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rank_served(*health), 16);

  // A new model (k = 12), written atomically over the served file.
  save_model(*t.svd_b, path);
  EXPECT_EQ(wait_for_rank(12), 12);
  std::this_thread::sleep_for(300ms);

  // A corrupt replacement (one byte flipped: checksum mismatch) and a truncated one are refused.
  auto bytes = test::read_text(t.svd_file);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  write_file_atomic(path, bytes);
  std::this_thread::sleep_for(10 * kPoll);
  EXPECT_EQ(rank_served(*health), 12);
  write_file_atomic(path, test::read_text(t.svd_file).substr(0, 1000));
  std::this_thread::sleep_for(10 * kPoll);
  EXPECT_EQ(rank_served(*health), 12);
  // A forced reload (SIGHUP) of the broken file is refused too.
  const auto forced = reloader.reload(true);
  EXPECT_EQ(forced.reloaded, 0);
  EXPECT_EQ(forced.refused, 1);
  EXPECT_EQ(rank_served(*health), 12);

  // A good file again is picked up.
  save_model(*t.svd, path);
  EXPECT_EQ(wait_for_rank(16), 16);
  std::this_thread::sleep_for(200ms);
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(ok.load(), 50);
}

TEST(ModelReload, RefusesAFileThatNowHoldsAnotherAlgorithm) {
  const auto& t = test::trained_models();
  test::TempDir tmp;
  const auto path = tmp / "m.cfm";
  std::filesystem::copy_file(t.svd_file, path);
  auto registry = std::make_shared<ModelRegistry>();
  ModelReloader reloader(registry, {path});
  save_model(*t.nmf, path);
  const auto r = reloader.reload(true);
  EXPECT_EQ(r.refused, 1);
  ASSERT_TRUE(registry->find("svd"));
  EXPECT_FALSE(registry->find("nmf"));
  // An unchanged file is not read again by a poll.
  save_model(*t.svd, path);
  EXPECT_EQ(reloader.poll().reloaded, 0);  // first sighting: waits for the file to hold still
  EXPECT_EQ(reloader.poll().reloaded, 1);
  EXPECT_EQ(reloader.poll().reloaded, 0);
}

TEST(ModelReload, StartupRefusesBrokenFilesAndDuplicateAlgorithms) {
  const auto& t = test::trained_models();
  test::TempDir tmp;
  test::write_text(tmp / "bad.cfm", "not a model");
  auto registry = std::make_shared<ModelRegistry>();
  EXPECT_THROW(ModelReloader(registry, {tmp / "bad.cfm"}), FormatError);
  EXPECT_THROW(ModelReloader(registry, {tmp / "missing.cfm"}), IoError);
  EXPECT_THROW(ModelReloader(registry, {t.svd_file, t.svd_b_file}), InvalidArgument);
  auto fresh = std::make_shared<ModelRegistry>();
  ModelReloader both(fresh, {t.nmf_file, t.svd_file});
  EXPECT_EQ(fresh->primary()->name, "nmf");
  EXPECT_EQ(fresh->snapshot()->size(), 2u);
}

}  // namespace
}  // namespace cinefactor
