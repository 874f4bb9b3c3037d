// cinefactor: progressive enhancement of the server-rendered rating page. Without this script the
// page works through plain form submits; with it, the slider values update live, "show me others"
// swaps cards in place and the search box searches as you type. No inline handlers (CSP).
(function () {
  'use strict';

  // DOM helpers shared by both enhancements below (text only: no HTML strings).
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function link(href, text) {
    var a = el('a', null, text);
    a.href = href;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    return a;
  }

  // A movie's trailer / IMDb / TMDB links (those it has), as one paragraph.
  function movieLinks(links) {
    var p = el('p', 'links');
    if (links) {
      if (links.trailer) p.appendChild(link(links.trailer, 'Trailer'));
      if (links.imdb) p.appendChild(link(links.imdb, 'IMDb'));
      if (links.tmdb) p.appendChild(link(links.tmdb, 'TMDB'));
    }
    return p;
  }

  // A card's poster image, as the server renders it.
  function poster(movie) {
    var img = el('img', 'poster');
    img.src = movie.poster;
    img.alt = 'Poster of ' + movie.title;
    img.width = 342;
    img.height = 513;
    img.loading = 'lazy';
    return img;
  }

  function ratingLabel(value) {
    var v = parseFloat(value);
    return v > 0 ? v + ' \u2605' : 'haven\u2019t seen it';
  }

  // A card's rating slider r{id} with its live label.
  function slider(id, value) {
    var rating = el('div', 'rating');
    var label = el('label', null, 'Your rating');
    label.htmlFor = 'r-' + id;
    var out = el('output', null, ratingLabel(value));
    out.id = 'o-' + id;
    out.htmlFor = 'r-' + id;
    var input = document.createElement('input');
    input.type = 'range';
    input.id = 'r-' + id;
    input.name = 'r' + id;
    input.min = '0';
    input.max = '5';
    input.step = '0.5';
    input.value = String(value);
    input.setAttribute('aria-valuetext', ratingLabel(value));
    rating.appendChild(label);
    rating.appendChild(document.createTextNode(' '));
    rating.appendChild(out);
    rating.appendChild(input);
    return rating;
  }

  // A ranked result's score line and "because you liked" (result: rank, score, label, because titles).
  function resultLines(body, result) {
    var score = el('p', 'score');
    score.appendChild(el('span', 'score-value', result.score));
    score.appendChild(document.createTextNode(' '));
    score.appendChild(el('span', 'score-label', result.label));
    body.appendChild(score);
    if (result.because.length) {
      var because = el('p', 'because', 'Because you liked ');
      result.because.forEach(function (title, i) {
        if (i) because.appendChild(document.createTextNode(i + 1 === result.because.length ? ' and ' : ', '));
        because.appendChild(el('cite', null, title));
      });
      body.appendChild(because);
    }
  }

  // The one movie card: the same markup as the server's render_movie_card() (src/server/cards.cpp), built
  // with DOM calls (no HTML strings). options.slider: a rating slider at that value (the rating page);
  // options.result: a ranked result {rank, score, label, because} (the results).
  function movieCard(movie, options) {
    var id = String(movie.id);
    var card = el('article', options.result ? 'card result' : 'card');
    card.setAttribute('data-movie-id', id);
    card.appendChild(poster(movie));
    var body = el('div', 'card-body');
    var title = el('h3', 'title');
    if (options.result) {
      title.appendChild(el('span', 'rank', options.result.rank + '.'));
      title.appendChild(document.createTextNode(' '));
    }
    title.appendChild(document.createTextNode(movie.title));
    body.appendChild(title);
    var meta = el('p', 'meta');
    if (movie.year) meta.appendChild(el('span', 'year', String(movie.year)));
    if (movie.genres && movie.genres.length) meta.appendChild(el('span', 'genres', movie.genres.join(', ')));
    body.appendChild(meta);
    if (options.slider !== undefined) body.appendChild(slider(id, options.slider));
    if (options.result) resultLines(body, options.result);
    body.appendChild(movieLinks(movie.links));
    card.appendChild(body);
    return card;
  }

  (function () {
    var form = document.getElementById('rate-form');
    if (!form || !window.fetch) return;

    var cards = document.getElementById('cards');
    var rated = document.getElementById('rated');
    var ratedSection = document.getElementById('rated-section');
    var results = document.getElementById('search-results');
    var shownField = document.getElementById('shown');
    var query = document.getElementById('q');
    var shuffle = document.getElementById('shuffle');
    var searchButton = document.getElementById('search-button');
    var pageSize = cards ? Math.max(1, cards.children.length) : 15;

    // Live value of every slider, including cards added later (event delegation).
    form.addEventListener('input', function (event) {
      var t = event.target;
      if (!t || t.type !== 'range') return;
      var label = ratingLabel(t.value);
      t.setAttribute('aria-valuetext', label);
      var out = document.getElementById('o-' + t.id.slice(2));
      if (out) out.textContent = label;
    });

    function cardValue(card) {
      var input = card.querySelector('input[type=range]');
      return input ? parseFloat(input.value) || 0 : 0;
    }

    function idsOnPage() {
      var ids = [];
      form.querySelectorAll('.card[data-movie-id]').forEach(function (c) { ids.push(c.getAttribute('data-movie-id')); });
      return ids;
    }

    // A rated card leaving the draw or the search results moves to "your other ratings".
    function keepIfRated(card) {
      if (cardValue(card) > 0 && rated) {
        card.classList.add('compact');
        rated.appendChild(card);
        if (ratedSection) ratedSection.hidden = false;
      } else if (card.parentNode) {
        card.parentNode.removeChild(card);
      }
    }

    function getJson(url) {
      return fetch(url, { headers: { Accept: 'application/json' } }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body && body.error ? body.error.message : 'HTTP ' + r.status);
          return body;
        });
      });
    }

    var plainSubmit = false;
    if (shuffle && cards) {
      shuffle.addEventListener('click', function (event) {
        if (plainSubmit) return;  // the API failed: let the form submit as without JavaScript
        event.preventDefault();
        shuffle.disabled = true;
        var url = '/api/v1/movies/popular?size=' + pageSize + '&exclude=' + encodeURIComponent(idsOnPage().join(','));
        getJson(url).then(function (body) {
          Array.prototype.slice.call(cards.children).forEach(keepIfRated);
          var ids = [];
          body.movies.forEach(function (m) {
            cards.appendChild(movieCard(m, { slider: 0 }));
            ids.push(m.id);
          });
          if (shownField) shownField.value = ids.join(',');
          shuffle.disabled = false;
        }).catch(function () {
          plainSubmit = true;
          shuffle.disabled = false;
          shuffle.click();
        });
      });
    }

    var timer = null;
    var latest = 0;
    function search() {
      if (!results || !query) return;
      var q = query.value.trim();
      var ticket = ++latest;
      Array.prototype.slice.call(results.querySelectorAll('.card')).forEach(keepIfRated);
      results.textContent = '';
      if (q.length < 2) return;
      getJson('/api/v1/movies/search?limit=12&q=' + encodeURIComponent(q)).then(function (body) {
        if (ticket !== latest) return;  // a newer search is under way
        var present = {};
        idsOnPage().forEach(function (id) { present[id] = true; });
        var added = 0;
        body.movies.forEach(function (m) {
          if (present[String(m.id)]) return;
          results.appendChild(movieCard(m, { slider: 0 }));
          added++;
        });
        if (!added) results.appendChild(el('p', 'empty', 'No other movie matches \u201c' + q + '\u201d.'));
      }).catch(function (e) {
        if (ticket === latest) results.appendChild(el('p', 'empty', 'Search failed: ' + e.message));
      });
    }

    if (query) {
      query.addEventListener('input', function () {
        clearTimeout(timer);
        timer = setTimeout(search, 250);
      });
      query.addEventListener('keydown', function (event) {
        if (event.key === 'Enter') {
          event.preventDefault();
          clearTimeout(timer);
          search();
        }
      });
    }
    if (searchButton) {
      searchButton.addEventListener('click', function (event) {
        event.preventDefault();
        clearTimeout(timer);
        search();
      });
    }
  })();

  // Recommendations in place: the "Recommend me 5 movies" button asks the JSON API and shows the results
  // under the form, keeping every slider as it is (no reload). Without JavaScript, or when the API cannot
  // be reached, the form posts to /recommendations and the server renders the same results as a page.
  (function () {

    var form = document.getElementById('rate-form');
    var button = document.getElementById('recommend');
    var box = document.getElementById('results');
    if (!form || !button || !box || !window.fetch || !window.JSON) return;

    var buttonText = button.textContent;
    var plainSubmit = false;

    function visitorRatings() {
      var seen = {};
      var ratings = [];
      form.querySelectorAll('input[type=range][name^="r"]').forEach(function (input) {
        var v = parseFloat(input.value);
        var id = parseInt(input.name.slice(1), 10);
        if (v > 0 && id > 0 && !seen[id]) {
          seen[id] = true;
          ratings.push({ movie_id: id, rating: v });
        }
      });
      return ratings;
    }

    function yearsChoice() {
      var checked = form.querySelector('input[name=years]:checked');
      return checked ? checked.value : 'any';
    }

    var yearsPhrase = { old: 'released before 2000', 'new': 'released in 2000 or later', any: 'of any year' };

    function backToRatings() {
      var first = form.querySelector('#cards input[type=range]') || form.querySelector('input[type=range]');
      var target = document.getElementById('draw-h') || form;
      target.scrollIntoView({ behavior: 'smooth', block: 'start' });
      if (first) first.focus({ preventScroll: true });
    }

    function actions() {
      var p = el('div', 'result-actions');
      var back = el('button', null, '\u2190 Change my ratings');
      back.type = 'button';
      back.id = 'change-ratings';
      back.addEventListener('click', backToRatings);
      p.appendChild(back);
      p.appendChild(el('span', 'hint', 'Your ratings stay as they are: change them or the years, then ask again.'));
      return p;
    }

    function show(children) {
      box.textContent = '';
      children.forEach(function (c) { box.appendChild(c); });
      box.hidden = false;
      box.focus({ preventScroll: true });
      box.scrollIntoView({ behavior: 'smooth', block: 'start' });
    }

    function notice(title, text) {
      box.className = 'results notice';
      var h = el('h2', null, title);
      h.id = 'results-h';
      show([h, el('p', null, text), actions()]);
    }

    // The result part of a recommendation's card, as the server's card_result() makes it.
    function cardResult(rec, rank, predicts) {
      return {
        rank: rank,
        score: predicts ? rec.predicted_rating.toFixed(1) + ' \u2605' : rec.score.toFixed(3),
        label: predicts ? 'predicted for you' : 'match score',
        because: (rec.because || []).map(function (b) { return b.title; })
      };
    }

    function render(answer, ratings, years) {
      var recs = answer.recommendations;
      if (!recs.length) {
        notice('No movie matches these filters', 'Every movie ' + yearsPhrase[years] +
          ' with enough ratings is one you have rated already. Choose other years, or rate fewer movies.');
        return;
      }
      box.className = 'results';
      var count = recs.length === 5 ? 'Five' : String(recs.length);
      var h = el('h2', null, count + ' movie' + (recs.length === 1 ? '' : 's') + ' you might like');
      h.id = 'results-h';
      var summary = el('p', 'summary', 'From your ' + ratings.length + ' rating' + (ratings.length === 1 ? '' : 's') +
        ', ' + answer.algorithm + ' model, ' + yearsPhrase[years] + '. None of them is one you rated.');
      var grid = el('div', 'grid results-grid');
      grid.id = 'results-list';
      var predicts = recs[0].predicted_rating !== undefined;
      recs.forEach(function (r, i) { grid.appendChild(movieCard(r.movie, { result: cardResult(r, i + 1, predicts) })); });
      show([h, summary, grid, actions()]);
    }

    form.addEventListener('submit', function (event) {
      if (plainSubmit || event.submitter !== button) return;
      event.preventDefault();
      var ratings = visitorRatings();
      if (!ratings.length) {
        notice('Rate at least one movie', 'Move the slider of a movie you have seen (half stars allowed), then ask again.');
        return;
      }
      var years = yearsChoice();
      var request = { ratings: ratings, years: years, n: 5 };
      var algorithm = document.getElementById('algorithm');
      if (algorithm && algorithm.value) request.algorithm = algorithm.value;
      button.disabled = true;
      button.textContent = 'Finding movies\u2026';
      box.setAttribute('aria-busy', 'true');
      fetch('/api/v1/recommendations', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(request)
      }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) {
            var problem = new Error(body && body.error ? body.error.message : 'HTTP ' + r.status);
            problem.fromServer = true;
            throw problem;
          }
          return body;
        });
      }).then(function (answer) {
        render(answer, ratings, years);
      }).catch(function (e) {
        if (e.fromServer) {
          notice('Could not recommend', e.message);
        } else {
          plainSubmit = true;  // no API: the server renders the results page instead
          button.disabled = false;
          form.requestSubmit(button);
        }
      }).then(function () {
        button.disabled = false;
        button.textContent = buttonText;
        box.removeAttribute('aria-busy');
      });
    });
  })();
})();
