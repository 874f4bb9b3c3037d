// cinefactor: progressive enhancement of the server-rendered rating page. Without this script the
// page works through plain form submits; with it, the slider values update live, "show me others"
// swaps cards in place and the search box searches as you type. No inline handlers (CSP).
(function () {
  'use strict';

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

  function ratingLabel(value) {
    var v = parseFloat(value);
    return v > 0 ? v + ' \u2605' : 'haven\u2019t seen it';
  }

  // Live value of every slider, including cards added later (event delegation).
  form.addEventListener('input', function (event) {
    var t = event.target;
    if (!t || t.type !== 'range') return;
    var label = ratingLabel(t.value);
    t.setAttribute('aria-valuetext', label);
    var out = document.getElementById('o-' + t.id.slice(2));
    if (out) out.textContent = label;
  });

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

  // The same markup as the server's render_movie_card(), built with DOM calls (no HTML strings).
  function movieCard(movie, value) {
    var id = String(movie.id);
    var card = el('article', 'card');
    card.setAttribute('data-movie-id', id);
    var img = el('img', 'poster');
    img.src = movie.poster;
    img.alt = 'Poster of ' + movie.title;
    img.width = 342;
    img.height = 513;
    img.loading = 'lazy';
    card.appendChild(img);
    var body = el('div', 'card-body');
    body.appendChild(el('h3', 'title', movie.title));
    var meta = el('p', 'meta');
    if (movie.year) meta.appendChild(el('span', 'year', String(movie.year)));
    if (movie.genres && movie.genres.length) meta.appendChild(el('span', 'genres', movie.genres.join(', ')));
    body.appendChild(meta);
    var rating = el('div', 'rating');
    var label = el('label', null, 'Your rating');
    label.htmlFor = 'r-' + id;
    var out = el('output', null, ratingLabel(value || 0));
    out.id = 'o-' + id;
    out.htmlFor = 'r-' + id;
    var input = document.createElement('input');
    input.type = 'range';
    input.id = 'r-' + id;
    input.name = 'r' + id;
    input.min = '0';
    input.max = '5';
    input.step = '0.5';
    input.value = String(value || 0);
    input.setAttribute('aria-valuetext', ratingLabel(value || 0));
    rating.appendChild(label);
    rating.appendChild(document.createTextNode(' '));
    rating.appendChild(out);
    rating.appendChild(input);
    body.appendChild(rating);
    var links = el('p', 'links');
    if (movie.links) {
      if (movie.links.trailer) links.appendChild(link(movie.links.trailer, 'Trailer'));
      if (movie.links.imdb) links.appendChild(link(movie.links.imdb, 'IMDb'));
      if (movie.links.tmdb) links.appendChild(link(movie.links.tmdb, 'TMDB'));
    }
    body.appendChild(links);
    card.appendChild(body);
    return card;
  }

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
          cards.appendChild(movieCard(m, 0));
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
        results.appendChild(movieCard(m, 0));
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
