// The server-rendered pages: the home page where a visitor rates movies (works without JavaScript;
// web/app.js enhances it), the generated placeholder posters, and the shared page layout.
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
constexpr std::size_t kMaxShown = 100;

using text::html_escape;

static_assert(kDefaultBoundaryYear == 2000, "the year labels name the boundary year");
const std::array<std::pair<const char*, const char*>, 3> kYearChoices{{
    {"any", "Any year"},
    {"old", "Before 2000"},
    {"new", "2000 and later"},
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

RatingForm parse_rating_form(const LoadedModel& model, const ModelRegistry::Snapshot& models,
                             const httplib::Request& req, std::size_t max_ratings) {
  RatingForm f;
  for (const auto& [key, value] : req.params) {
    if (key.size() < 2 || key[0] != 'r' || key.find_first_not_of("0123456789", 1) != std::string::npos)
      continue;
    const auto id = parse_movie_id(std::string_view(key).substr(1), "form field '" + key + "'");
    if (!model.catalog->find(id))
      throw HttpError(400, fmt::format("form field '{}': no movie with id {}", key, id));
    const float rating = parse_rating(value, "form field '" + key + "'");
    if (rating > 0.0f) {
      f.ratings[id] = rating;
    } else {
      f.ratings.erase(id);
    }
    if (f.ratings.size() > max_ratings) {
      throw HttpError(400, fmt::format("the form carries more than {} ratings", max_ratings));
    }
  }
  f.shown = id_list_param(req, "shown", kMaxShown);
  for (auto id : f.shown) {
    if (!model.catalog->find(id))
      throw HttpError(400, fmt::format("form field 'shown': no movie with id {}", id));
  }
  if (auto q = param(req, "q")) f.query = std::string(text::trim(*q));
  if (auto a = param(req, "action")) {
    if (*a != "shuffle" && *a != "search") {
      throw HttpError(400, "form field 'action': expected \"shuffle\" or \"search\", got \"" + *a + "\"");
    }
    f.action = *a;
  }
  if (auto y = param(req, "years")) {
    const bool known =
        std::any_of(kYearChoices.begin(), kYearChoices.end(), [&](const auto& c) { return *y == c.first; });
    if (!known)
      throw HttpError(400, "form field 'years': expected \"old\", \"new\" or \"any\", got \"" + *y + "\"");
    f.years = *y;
  }
  if (auto a = param(req, "algorithm"); a && !a->empty()) {
    const bool known =
        std::any_of(models->begin(), models->end(), [&](const LoadedModel& m) { return m.name == *a; });
    if (!known) throw HttpError(400, "form field 'algorithm': no model named \"" + *a + "\" is loaded");
    f.algorithm = *a;
  }
  return f;
}

std::string rating_label(float rating) {
  if (rating <= 0.0f) return "haven\u2019t seen it";
  return fmt::format("{:g} \u2605", rating);
}

std::string render_year_choices(std::string_view selected) {
  std::string h = "<fieldset class=\"years\"><legend>Release years</legend>\n";
  for (const auto& [value, label] : kYearChoices) {
    h += fmt::format("<label><input type=\"radio\" name=\"years\" value=\"{}\"{}> {}</label>\n", value,
                     selected == value ? " checked" : "", label);
  }
  return h + "</fieldset>\n";
}

std::string genres_text(const Movie& m) {
  std::string genres;
  for (const auto& g : m.genres) {
    if (!genres.empty()) genres += ", ";
    genres += g;
  }
  return genres;
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

std::string render_movie_card(const CatalogMovie& cm, const MovieMedia& media, std::optional<float> slider,
                              std::string_view extra_class) {
  const auto& m = cm.movie;
  const auto id = std::to_string(m.id);
  const auto genres = genres_text(m);
  std::string h;
  h += "<article class=\"card";
  if (!extra_class.empty()) h += " " + html_escape(extra_class);
  h += "\" data-movie-id=\"" + id + "\">\n";
  h += "<img class=\"poster\" src=\"" + html_escape(media.poster_url) + "\" alt=\"Poster of " +
       html_escape(m.title) + "\" width=\"342\" height=\"513\" loading=\"lazy\">\n";
  h += "<div class=\"card-body\">\n<h3 class=\"title\">" + html_escape(m.title) + "</h3>\n";
  h += "<p class=\"meta\">";
  if (m.year > 0) h += "<span class=\"year\">" + std::to_string(m.year) + "</span>";
  if (!genres.empty()) h += "<span class=\"genres\">" + html_escape(genres) + "</span>";
  h += "</p>\n";
  if (slider) {
    const auto value = fmt::format("{:g}", *slider);
    const auto label = rating_label(*slider);
    h += "<div class=\"rating\"><label for=\"r-" + id + "\">Your rating</label> <output id=\"o-" + id +
         "\" for=\"r-" + id + "\">" + html_escape(label) + "</output>\n";
    h += "<input type=\"range\" id=\"r-" + id + "\" name=\"r" + id +
         "\" min=\"0\" max=\"5\" step=\"0.5\" value=\"" + value + "\" aria-valuetext=\"" +
         html_escape(label) + "\"></div>\n";
  }
  h += "<p class=\"links\">";
  if (!media.trailer_url.empty()) {
    h += "<a href=\"" + html_escape(media.trailer_url) +
         "\" rel=\"noopener noreferrer\" target=\"_blank\">Trailer</a>";
  }
  if (!media.imdb_url.empty()) {
    h += "<a href=\"" + html_escape(media.imdb_url) +
         "\" rel=\"noopener noreferrer\" target=\"_blank\">IMDb</a>";
  }
  if (!media.tmdb_url.empty()) {
    h += "<a href=\"" + html_escape(media.tmdb_url) +
         "\" rel=\"noopener noreferrer\" target=\"_blank\">TMDB</a>";
  }
  h += "</p>\n</div>\n</article>\n";
  return h;
}

void handle_home(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto model = ctx.primary();
  const auto models = ctx.models->snapshot();
  const auto form = parse_rating_form(model, models, req, ctx.options.max_ratings);
  const auto& catalog = *model.catalog;

  // The draw: kept while searching; fresh on "show me others" and on a plain visit.
  std::vector<const CatalogMovie*> shown;
  if (!form.shown.empty() && form.action != "shuffle") {
    for (auto id : form.shown) shown.push_back(catalog.find(id));
  } else {
    std::unordered_set<std::int64_t> exclude(form.shown.begin(), form.shown.end());
    for (const auto& [id, rating] : form.ratings) exclude.insert(id);
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
  for (const auto& [id, rating] : form.ratings) {
    if (!on_page.contains(id)) rated.push_back(catalog.find(id));
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
  auto cards = [&](const std::vector<const CatalogMovie*>& movies, std::string_view cls) {
    std::string h;
    for (const auto* m : movies) h += render_movie_card(*m, media[next++], rating_of(m), cls);
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
  b += cards(found, "");
  b += "</div>\n</section>\n";

  b += "<section class=\"draw\" aria-labelledby=\"draw-h\">\n<h2 id=\"draw-h\">Have you seen these?</h2>\n";
  b += "<input type=\"hidden\" id=\"shown\" name=\"shown\" value=\"" + join_ids(shown_ids) + "\">\n";
  b += "<div id=\"cards\" class=\"grid\">\n" + cards(shown, "") + "</div>\n";
  b += "<p class=\"actions\"><button type=\"submit\" id=\"shuffle\" formaction=\"/\" formmethod=\"get\" "
       "name=\"action\" "
       "value=\"shuffle\">Show me " +
       std::to_string(ctx.options.page_movies) +
       " others</button> <span class=\"hint\">Your ratings are kept.</span></p>\n</section>\n";

  b += "<section class=\"rated\" id=\"rated-section\" aria-labelledby=\"rated-h\"";
  if (rated.empty()) b += " hidden";
  b += ">\n<h2 id=\"rated-h\">Your other ratings</h2>\n<div id=\"rated\" class=\"grid compact\">\n" +
       cards(rated, "compact") + "</div>\n</section>\n";

  b += "<section class=\"prefs\" aria-labelledby=\"prefs-h\">\n<h2 id=\"prefs-h\">Your preferences</h2>\n";
  b += render_year_choices(form.years);
  if (models->size() > 1) {
    b += "<div class=\"algorithm\"><label for=\"algorithm\">Algorithm</label> <select id=\"algorithm\" "
         "name=\"algorithm\">\n";
    for (const auto& m : *models) {
      const bool selected = form.algorithm.empty() ? &m == &models->front() : form.algorithm == m.name;
      b += "<option value=\"" + html_escape(m.name) + "\"" + (selected ? " selected" : "") + ">" +
           html_escape(upper(m.name)) + "</option>\n";
    }
    b += "</select></div>\n";
  }
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
  const auto model = ctx.primary();
  const auto* movie = model.catalog->find(id);
  if (!movie) throw HttpError(404, fmt::format("no movie with id {}", id));
  res.set_content(placeholder_poster_svg(movie->movie), "image/svg+xml");
  res.set_header("Cache-Control", "public, max-age=86400");
}

}  // namespace cinefactor::server
