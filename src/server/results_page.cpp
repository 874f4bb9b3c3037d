// The server-rendered results page the rating form posts to (POST /recommendations): five movie cards
// (the one card renderer, src/server/cards.cpp), or a notice when nothing was rated or the filters
// leave no movie, and the forms that carry the visitor's ratings on (back to the rating page, or ask
// again with other years or another algorithm).
#include <fmt/format.h>

#include "core/text.hpp"
#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

using text::html_escape;

constexpr std::size_t kResultsOnPage = 5;

std::string hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + html_escape(name) + "\" value=\"" + html_escape(value) + "\">\n";
}

// The visitor's ratings (and the draw on screen) as hidden fields, so every form on the results page
// carries them on.
std::string state_fields(const RatingForm& form) {
  std::string h;
  for (const auto& [id, rating] : form.ratings)
    h += hidden("r" + std::to_string(id), fmt::format("{:g}", rating));
  if (!form.shown.empty()) {
    std::string ids;
    for (const auto* m : form.shown) ids += (ids.empty() ? "" : ",") + std::to_string(m->movie.id);
    h += hidden("shown", ids);
  }
  return h;
}

// "Change my ratings" (back to the rating page with everything kept) and the preferences form that
// asks again with other years or another algorithm.
std::string result_forms(const RatingForm& form, const ModelRegistry::Snapshot& models,
                         const LoadedModel& chosen) {
  std::string h;
  h += "<div class=\"result-actions\">\n";
  h += "<form method=\"get\" action=\"/\" class=\"back\">\n" + state_fields(form) +
       hidden("years", year_filter_name(form.years));
  if (!form.algorithm.empty()) h += hidden("algorithm", form.algorithm);
  h += "<button type=\"submit\" id=\"change-ratings\">\u2190 Change my ratings</button>\n</form>\n";
  if (!form.ratings.empty()) {
    h += "<form method=\"post\" action=\"/recommendations\" class=\"refine\">\n" + state_fields(form);
    h += render_year_choices(form.years);
    h += render_algorithm_choice(models, chosen.name);
    h += "<button type=\"submit\" class=\"primary\" id=\"recommend-again\">Recommend "
         "again</button>\n</form>\n";
  }
  h += "</div>\n";
  return h;
}

}  // namespace

void handle_results_page(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  require_media_type(req, "application/x-www-form-urlencoded");
  const auto primary = ctx.primary();
  const auto models = ctx.models->snapshot();
  const auto form = parse_rating_form(primary, models, req, ctx.options.max_ratings);
  const auto model = choose_model(ctx, form.algorithm, "form field 'algorithm'");

  std::string b = "<main id=\"main\" class=\"results-page\">\n";
  // A page that says why there is nothing to show (the forms still carry the ratings on).
  auto send_notice = [&](std::string_view title, std::string_view heading, std::string_view text) {
    b += "<section class=\"results notice\">\n<h1>" + html_escape(heading) + "</h1>\n<p>" +
         html_escape(text) + "</p>\n</section>\n";
    b += result_forms(form, models, model);
    send_html(res, render_page(title, b + "</main>"));
  };
  if (form.ratings.empty()) {
    send_notice("Rate at least one movie", "Rate at least one movie",
                "Move the slider of a movie you have seen (half stars allowed), then ask for recommendations "
                "again.");
    return;
  }

  RecommendRequest request;
  for (const auto& [id, rating] : form.ratings) request.ratings.push_back({id, rating});
  request.filters.years = form.years;
  request.top_n = static_cast<int>(kResultsOnPage);
  request.explain = kExplain;
  const auto recs = model.recommender->recommend(request);  // checks the rated movie ids

  const auto count = form.ratings.size();
  const auto from_ratings =
      fmt::format("From your {} rating{}, {} model", count, count == 1 ? "" : "s", model.name);
  if (recs.empty()) {
    send_notice("No recommendations", "No movie matches these filters",
                "Every movie " + std::string(years_phrase(form.years)) +
                    " with enough ratings is one you have rated already. Choose other years below, or rate "
                    "fewer movies.");
    return;
  }

  std::vector<const CatalogMovie*> movies;
  for (const auto& r : recs) movies.push_back(r.movie);
  const auto media = media_for(ctx, movies);
  b += "<section class=\"results\" id=\"results\" aria-labelledby=\"results-h\">\n";
  b += fmt::format("<h1 id=\"results-h\">{} movie{} you might like</h1>\n",
                   recs.size() == kResultsOnPage ? "Five" : std::to_string(recs.size()),
                   recs.size() == 1 ? "" : "s");
  b += "<p class=\"summary\">" + html_escape(from_ratings) + ", " + html_escape(years_phrase(form.years)) +
       ". None of them is one you rated.</p>\n";
  b += "<div class=\"grid results-grid\" id=\"results-list\">\n";
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const CardOptions card{
        .slider = std::nullopt, .result = card_result(*model.model, recs[i], i + 1), .compact = false};
    b += render_movie_card(*recs[i].movie, media[i], card);
  }
  b += "</div>\n</section>\n";
  b += result_forms(form, models, model);
  send_html(res, render_page("Your recommendations", b + "</main>"));
}

}  // namespace cinefactor::server
