// libFuzzer harness: the JSON body of POST /api/v1/recommendations, from parsing (src/server/requests.cpp)
// through the recommender to the JSON answer, as the route's handler runs it. The models are an SVD and
// an NMF of rank 2 trained at start on a 6 x 8 MovieLens-format snippet. An input is the request body.
// Found: anything but an answer or an error the server answers with a 4xx (HttpError below 500,
// InvalidArgument, ParseError: server.cpp's classify()); anything else is a 500 "internal error" for a
// client's mistake, or a crash.
#include <cstdint>
#include <memory>
#include <string>

#include "cinefactor/dataset.hpp"
#include "cinefactor/model_registry.hpp"
#include "cinefactor/train.hpp"
#include "fuzz_support.hpp"
#include "server/server_internal.hpp"

namespace {

namespace server = cinefactor::server;
using cinefactor::fuzz::finding;

constexpr int kRank = 2;
constexpr int kIterations = 20;
constexpr int kFirstServerError = 500;

std::shared_ptr<const cinefactor::Model> train_on(const cinefactor::Dataset& data,
                                                  cinefactor::Algorithm algorithm) {
  cinefactor::TrainOptions o;
  o.algorithm = algorithm;
  o.rank = kRank;
  o.device = cinefactor::Device::cpu;
  o.max_iterations = kIterations;
  o.threads = 1;
  auto model = cinefactor::train(data.ratings, o);
  cinefactor::attach_catalog(model, data);
  return std::make_shared<const cinefactor::Model>(std::move(model));
}

server::Context& context() {
  static const std::unique_ptr<server::Context> ctx = [] {
    const auto dir = cinefactor::fuzz::scratch_dir() / "data";
    std::filesystem::create_directories(dir);
    std::string ratings = "userId,movieId,rating,timestamp\n";
    for (int user = 1; user <= 6; ++user) {
      for (int movie = 1; movie <= 8; ++movie) {
        if ((user + movie) % 3 == 0) continue;
        ratings += std::to_string(user) + "," + std::to_string(movie) + "," +
                   std::to_string(1 + (user * movie) % 5) + ".0,9649827" + std::to_string(user) + "\n";
      }
    }
    cinefactor::fuzz::write_file(dir / "ratings.csv", ratings);
    cinefactor::fuzz::write_file(
        dir / "movies.csv",
        "movieId,title,genres\n1,Harbor Lights (1994),Drama|Romance\n"
        "2,\"Lighthouse, The (1987)\",Mystery|Thriller\n3,Paper Kites (2003),Children|Comedy\n"
        "4,Night Shift (2015),Action|Crime\n5,Café du Port (1962),Comedy\n"
        "6,Salt Roads (1999),Drama\n7,Open Skies (2019),Action|Sci-Fi\n"
        "8,Winter Orchard (2001),Comedy|Romance\n");
    cinefactor::fuzz::write_file(dir / "links.csv", "movieId,imdbId,tmdbId\n1,0100001,9001\n2,0100002,\n");
    cinefactor::LoadOptions lo;
    lo.use_cache = false;
    lo.threads = 1;
    const auto data = cinefactor::load_dataset(dir, lo);
    auto c = std::make_unique<server::Context>();
    c->options.tmdb.cache_dir = cinefactor::fuzz::scratch_dir() / "tmdb";  // no credentials: never online
    c->options.seed = 1;
    c->models = std::make_shared<cinefactor::ModelRegistry>();
    c->models->put(train_on(data, cinefactor::Algorithm::svd));
    c->models->put(train_on(data, cinefactor::Algorithm::nmf));
    c->tmdb = std::make_unique<cinefactor::TmdbClient>(c->options.tmdb);
    return c;
  }();
  return *ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& ctx = context();
  httplib::Request req;
  req.method = "POST";
  req.path = "/api/v1/recommendations";
  req.headers.emplace("Content-Type", "application/json");
  req.body.assign(cinefactor::fuzz::as_text(data, size));
  httplib::Response res;
  cinefactor::fuzz::expect_success_or<cinefactor::fuzz::NoException>([&] {
    try {
      server::handle_api_recommendations(ctx, req, res);
    } catch (const cinefactor::HttpError& e) {
      if (e.status() >= kFirstServerError) finding("server error for a request", e.what());
    } catch (const cinefactor::InvalidArgument&) {
      // 400, as server.cpp's classify() answers it (an unknown movie id, found by the recommender)
    } catch (const cinefactor::ParseError&) {
      // 400 likewise
    }
  });
  return 0;
}
