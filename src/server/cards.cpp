// The one movie card renderer of the server's pages (the rating page's slider cards and the results
// page's ranked cards). web/app.js's movieCard() builds the same markup with DOM calls: change both.
#include <fmt/format.h>

#include "core/text.hpp"
#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

using text::html_escape;

std::string rating_label(float rating) {
  if (rating <= 0.0f) return "haven\u2019t seen it";
  return fmt::format("{:g} \u2605", rating);
}

std::string genres_text(const Movie& m) {
  std::string genres;
  for (const auto& g : m.genres) {
    if (!genres.empty()) genres += ", ";
    genres += g;
  }
  return genres;
}

std::string link_html(const std::string& href, std::string_view text) {
  return "<a href=\"" + html_escape(href) + "\" rel=\"noopener noreferrer\" target=\"_blank\">" +
         html_escape(text) + "</a>";
}

std::string slider_html(const std::string& id, float rating) {
  const auto value = fmt::format("{:g}", rating);
  const auto label = html_escape(rating_label(rating));
  return "<div class=\"rating\"><label for=\"r-" + id + "\">Your rating</label> <output id=\"o-" + id +
         "\" for=\"r-" + id + "\">" + label + "</output>\n<input type=\"range\" id=\"r-" + id +
         "\" name=\"r" + id + "\" min=\"0\" max=\"5\" step=\"0.5\" value=\"" + value +
         "\" aria-valuetext=\"" + label + "\"></div>\n";
}

std::string result_html(const CardResult& r) {
  std::string h = "<p class=\"score\"><span class=\"score-value\">" + html_escape(r.score) +
                  "</span> <span class=\"score-label\">" + html_escape(r.score_label) + "</span></p>\n";
  if (!r.because.empty()) {
    h += "<p class=\"because\">Because you liked ";
    for (std::size_t i = 0; i < r.because.size(); ++i) {
      if (i) h += i + 1 == r.because.size() ? " and " : ", ";
      h += "<cite>" + html_escape(r.because[i]) + "</cite>";
    }
    h += "</p>\n";
  }
  return h;
}

}  // namespace

std::string render_movie_card(const CatalogMovie& cm, const MovieMedia& media, const CardOptions& options) {
  const auto& m = cm.movie;
  const auto id = std::to_string(m.id);
  std::string h = "<article class=\"card";
  if (options.result) h += " result";
  if (options.compact) h += " compact";
  h += "\" data-movie-id=\"" + id + "\">\n";
  h += "<img class=\"poster\" src=\"" + html_escape(media.poster_url) + "\" alt=\"Poster of " +
       html_escape(m.title) + "\" width=\"342\" height=\"513\" loading=\"lazy\">\n";
  h += "<div class=\"card-body\">\n<h3 class=\"title\">";
  if (options.result) h += fmt::format("<span class=\"rank\">{}.</span> ", options.result->rank);
  h += html_escape(m.title) + "</h3>\n";
  h += "<p class=\"meta\">";
  if (m.year > 0) h += "<span class=\"year\">" + std::to_string(m.year) + "</span>";
  const auto genres = genres_text(m);
  if (!genres.empty()) h += "<span class=\"genres\">" + html_escape(genres) + "</span>";
  h += "</p>\n";
  if (options.slider) h += slider_html(id, *options.slider);
  if (options.result) h += result_html(*options.result);
  h += "<p class=\"links\">";
  if (!media.trailer_url.empty()) h += link_html(media.trailer_url, "Trailer");
  if (!media.imdb_url.empty()) h += link_html(media.imdb_url, "IMDb");
  if (!media.tmdb_url.empty()) h += link_html(media.tmdb_url, "TMDB");
  h += "</p>\n</div>\n</article>\n";
  return h;
}

CardResult card_result(const Model& model, const Recommendation& r, std::size_t rank) {
  CardResult out;
  out.rank = rank;
  const bool predicts = model.predicts_ratings();
  out.score = predicts ? fmt::format("{:.1f} \u2605", r.score) : fmt::format("{:.3f}", r.score);
  out.score_label = predicts ? "predicted for you" : "match score";
  for (const auto& c : r.because) out.because.push_back(c.movie->movie.title);
  return out;
}

}  // namespace cinefactor::server
