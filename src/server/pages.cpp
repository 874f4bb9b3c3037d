// The server-rendered pages: the home page where a visitor rates movies (works without JavaScript;
// web/app.js enhances it), the generated placeholder posters, the shared page layout and the years and
// algorithm choices both forms show.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "core/text.hpp"
#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

constexpr std::size_t kPageSearchResults = 12;

using text::html_escape;

struct YearChoice {
  YearFilter years;
  const char* label;   // the radio button's
  const char* phrase;  // in sentences about the results
};
static_assert(kDefaultBoundaryYear == 2000, "the year labels name the boundary year");
constexpr std::array<YearChoice, 3> kYearChoices{{
    {YearFilter::any, "Any year", "of any year"},
    {YearFilter::older, "Before 2000", "released before 2000"},
    {YearFilter::newer, "2000 and later", "released in 2000 or later"},
}};

std::string upper(std::string s) {
  for (auto& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string join_ids(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (auto id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

}  // namespace

std::string render_year_choices(YearFilter selected) {
  std::string h = "<fieldset class=\"years\"><legend>Release years</legend>\n";
  for (const auto& c : kYearChoices) {
    h += fmt::format("<label><input type=\"radio\" name=\"years\" value=\"{}\"{}> {}</label>\n",
                     year_filter_name(c.years), selected == c.years ? " checked" : "", c.label);
  }
  return h + "</fieldset>\n";
}

std::string render_algorithm_choice(const ModelRegistry::Snapshot& models, std::string_view selected) {
  if (models->size() < 2) return {};
  std::string h =
      "<div class=\"algorithm\"><label for=\"algorithm\">Algorithm</label> <select id=\"algorithm\" "
      "name=\"algorithm\">\n";
  for (const auto& m : *models) {
    h += "<option value=\"" + html_escape(m.name) + "\"" + (m.name == selected ? " selected" : "") + ">" +
         html_escape(upper(m.name)) + "</option>\n";
  }
  return h + "</select></div>\n";
}

std::string_view years_phrase(YearFilter years) {
  for (const auto& c : kYearChoices) {
    if (c.years == years) return c.phrase;
  }
  return kYearChoices.front().phrase;
}

std::string render_page(std::string_view title, std::string_view body) {
  std::string html;
  html += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<meta name=\"color-scheme\" content=\"light dark\">\n";
  html += "<title>" + html_escape(title) + " \u00b7 cinefactor</title>\n";
  html += "<link rel=\"stylesheet\" href=\"/static/app.css\">\n";
  html += "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n";
  html += "<script src=\"/static/app.js\" defer></script>\n</head>\n<body>\n";
  html += "<a class=\"skip\" href=\"#main\">Skip to content</a>\n";
  html +=
      "<header class=\"site\"><a class=\"brand\" href=\"/\">cinefactor</a>"
      "<span class=\"tagline\">movies you might like, by matrix factorization</span></header>\n";
  html += body;
  html +=
      "\n<footer class=\"site\"><p>Ratings from MovieLens. Posters and trailers from TMDB when available "
      "(this product uses the TMDB API but is not endorsed or certified by TMDB).</p></footer>\n";
  html += "</body>\n</html>\n";
  return html;
}

void handle_home(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto model = ctx.primary();
  const auto models = ctx.models->snapshot();
  const auto form = parse_rating_form(model, models, req, ctx.options.max_ratings);
  const auto& catalog = *model.catalog;

  // The rated movies' cards: looking them up is the check of their ids.
  std::vector<std::int64_t> rated_ids;
  for (const auto& [id, rating] : form.ratings) rated_ids.push_back(id);
  const auto rated_movies = find_movies(model, rated_ids, "");

  // The draw: kept while searching; fresh on "show me others" and on a plain visit.
  std::vector<const CatalogMovie*> shown;
  if (!form.shown.empty() && form.action != "shuffle") {
    shown = form.shown;
  } else {
    std::unordered_set<std::int64_t> exclude(rated_ids.begin(), rated_ids.end());
    for (const auto* m : form.shown) exclude.insert(m->movie.id);
    std::mt19937_64 rng(ctx.next_seed());
    shown = catalog.sample_popular(ctx.options.page_movies, ctx.options.page_pool, rng, exclude);
  }
  std::set<std::int64_t> on_page;
  for (const auto* m : shown) on_page.insert(m->movie.id);

  std::vector<const CatalogMovie*> found;
  if (!form.query.empty()) {
    for (const auto* m : catalog.search(form.query, kPageSearchResults + shown.size())) {
      if (found.size() < kPageSearchResults && on_page.insert(m->movie.id).second) found.push_back(m);
    }
  }
  std::vector<const CatalogMovie*> rated;
  for (const auto* m : rated_movies) {
    if (!on_page.contains(m->movie.id)) rated.push_back(m);
  }

  std::vector<const CatalogMovie*> all(shown);
  all.insert(all.end(), found.begin(), found.end());
  all.insert(all.end(), rated.begin(), rated.end());
  const auto media = media_for(ctx, all);
  std::size_t next = 0;
  auto rating_of = [&](const CatalogMovie* m) {
    const auto it = form.ratings.find(m->movie.id);
    return it == form.ratings.end() ? 0.0f : it->second;
  };
  auto cards = [&](const std::vector<const CatalogMovie*>& movies, bool compact) {
    std::string h;
    for (const auto* m : movies)
      h += render_movie_card(*m, media[next++],
                             {.slider = rating_of(m), .result = std::nullopt, .compact = compact});
    return h;
  };

  std::vector<std::int64_t> shown_ids;
  for (const auto* m : shown) shown_ids.push_back(m->movie.id);

  std::string b;
  b += "<main id=\"main\">\n<form id=\"rate-form\" method=\"post\" action=\"/recommendations\">\n";
  b += "<section class=\"intro\"><h1>Rate a few movies, get five you might like</h1>\n"
       "<p>Slide to rate the movies you have seen (half stars allowed); leave the ones you have not seen at "
       "0.</p>"
       "</section>\n";

  b += "<section class=\"search\" aria-labelledby=\"search-h\">\n<h2 id=\"search-h\">Find a movie to "
       "rate</h2>\n";
  b += "<div class=\"search-row\"><label for=\"q\" class=\"visually-hidden\">Title</label>"
       "<input type=\"search\" id=\"q\" name=\"q\" placeholder=\"Search by title\" autocomplete=\"off\" "
       "maxlength=\"200\" "
       "value=\"" +
       html_escape(form.query) +
       "\">"
       "<button type=\"submit\" id=\"search-button\" formaction=\"/\" formmethod=\"get\" name=\"action\" "
       "value=\"search\">Search</button></div>\n";
  b += "<div id=\"search-results\" class=\"grid\" aria-live=\"polite\">\n";
  if (!form.query.empty() && found.empty()) {
    b += "<p class=\"empty\">No other movie matches \u201c" + html_escape(form.query) + "\u201d.</p>\n";
  }
  b += cards(found, false);
  b += "</div>\n</section>\n";

  b += "<section class=\"draw\" aria-labelledby=\"draw-h\">\n<h2 id=\"draw-h\">Have you seen these?</h2>\n";
  b += "<input type=\"hidden\" id=\"shown\" name=\"shown\" value=\"" + join_ids(shown_ids) + "\">\n";
  b += "<div id=\"cards\" class=\"grid\">\n" + cards(shown, false) + "</div>\n";
  b += "<p class=\"actions\"><button type=\"submit\" id=\"shuffle\" formaction=\"/\" formmethod=\"get\" "
       "name=\"action\" "
       "value=\"shuffle\">Show me " +
       std::to_string(ctx.options.page_movies) +
       " others</button> <span class=\"hint\">Your ratings are kept.</span></p>\n</section>\n";

  b += "<section class=\"rated\" id=\"rated-section\" aria-labelledby=\"rated-h\"";
  if (rated.empty()) b += " hidden";
  b += ">\n<h2 id=\"rated-h\">Your other ratings</h2>\n<div id=\"rated\" class=\"grid compact\">\n" +
       cards(rated, true) + "</div>\n</section>\n";

  b += "<section class=\"prefs\" aria-labelledby=\"prefs-h\">\n<h2 id=\"prefs-h\">Your preferences</h2>\n";
  b += render_year_choices(form.years);
  b += render_algorithm_choice(models, form.algorithm.empty() ? models->front().name : form.algorithm);
  b += "<p class=\"submit\"><button type=\"submit\" class=\"primary\" id=\"recommend\">Recommend me 5 "
       "movies</button></p>\n";
  b += "</section>\n</form>\n";
  // Filled in place by web/app.js (the JSON API); without JavaScript the form posts to /recommendations.
  b += "<section id=\"results\" class=\"results\" tabindex=\"-1\" aria-live=\"polite\" hidden></section>\n";
  b += "</main>";

  send_html(res, render_page("Rate movies", b));
}

void handle_poster_svg(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto id = parse_movie_id(req.matches[1].str(), "poster id");
  res.set_content(placeholder_poster_svg(movie_or_404(ctx.primary(), id).movie), "image/svg+xml");
  res.set_header("Cache-Control", "public, max-age=86400");
}

}  // namespace cinefactor::server
