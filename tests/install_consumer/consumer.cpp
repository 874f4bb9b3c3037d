// Trains an SVD on a small matrix through the installed public API, writes and reads the model file,
// and recommends for a visitor: prints "ok <n recommendations>" or fails with a message.
#include <cinefactor/cinefactor.hpp>
#include <cstdio>
#include <exception>
#include <memory>
#include <vector>

int main(int argc, char** argv) {
  try {
    if (argc != 2) throw cinefactor::InvalidArgument("usage: consumer MODEL_PATH");
    std::vector<cinefactor::RatingEntry> entries;
    for (int u = 1; u <= 30; ++u) {
      for (int j = 1; j <= 20; ++j) {
        if ((u * 7 + j * 3) % 4 != 0)
          entries.push_back({u, j, static_cast<float>(1 + (u + j) % 9) * 0.5f, 0});
      }
    }
    const auto ratings = cinefactor::RatingMatrix::from_entries(std::move(entries));
    cinefactor::TrainOptions options;
    options.algorithm = cinefactor::Algorithm::svd;
    options.rank = 3;
    options.device = cinefactor::Device::cpu;
    const cinefactor::Model model = cinefactor::train(ratings, options);
    cinefactor::save_model(model, argv[1]);
    const cinefactor::Recommender recommender(
        std::make_shared<const cinefactor::Model>(cinefactor::load_model(argv[1])));
    cinefactor::RecommendRequest request;
    request.ratings = {{1, 5.0f}, {2, 1.0f}};
    request.top_n = 5;
    request.filters.min_ratings = 0;
    const auto recommendations = recommender.recommend(request);
    std::printf("ok %zu\n", recommendations.size());
    return recommendations.size() == 5 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
