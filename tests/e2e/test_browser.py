#!/usr/bin/python3
"""End-to-end test of the web app in headless Chromium, with and without JavaScript.

Generates the synthetic `small` dataset and trains an SVD model with the `cinefactor` CLI, starts
`cinefactor serve` on a free loopback port, then, as a visitor would: rates several movies with the
keyboard (arrow keys on the sliders), chooses recent films, asks for recommendations and checks that
five movies appear, all from 2000 on and none of the rated ones. Once with JavaScript (results in
place, no reload) and once with JavaScript disabled (the server-rendered results page, then back to
the ratings, which must still be there). The cards the script builds (new draws, results) must have the
same element tree as the server's. Screenshots go to $CINEFACTOR_ARTIFACTS or the given dir.

    /usr/bin/python3 tests/e2e/test_browser.py BUILD/cinefactor [ARTIFACT_DIR]

Exit codes: 0 passed, 1 failed, 77 skipped (Chromium, chromedriver or Selenium missing).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
RATED_KEYS = (8, 9, 3, 10, 7)  # arrow-right presses per slider: 4, 4.5, 1.5, 5 and 3.5 stars


def skip(reason):
    print(f"SKIP: {reason} (install with: scripts/install-deps --browser)")
    sys.exit(SKIP)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:  # pragma: no cover - depends on the machine
    skip(f"Selenium for /usr/bin/python3 is not installed ({e})")


def find_chromium():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class Serve:
    """`cinefactor serve` on a free port; stopped with SIGTERM (it must exit 0)."""

    def __init__(self, binary, model, workdir):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMDB_")}  # offline posters
        self.proc = subprocess.Popen(
            [binary, "serve", "--model", model, "--port", "0", "--poll", "0", "--tmdb-cache",
             os.path.join(workdir, "tmdb")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        deadline = time.time() + 60
        self.log = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log += line
            m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if m:
                self.url = m.group(1)
                return
        raise RuntimeError(f"cinefactor serve did not start:\n{self.log}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        if code != 0:
            raise AssertionError(f"cinefactor serve exited with {code} on SIGTERM")


def make_driver(chromium, javascript, width=1280, height=1600):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--force-device-scale-factor=1", "--hide-scrollbars"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def rate_with_keyboard(driver):
    """Rates the first few movies of the draw with arrow keys; returns {movie_id: stars}."""
    sliders = driver.find_elements(By.CSS_SELECTOR, "#cards input[type=range]")
    assert len(sliders) >= len(RATED_KEYS), f"only {len(sliders)} sliders on the page"
    rated = {}
    for slider, presses in zip(sliders, RATED_KEYS):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
        slider.send_keys(*([Keys.ARROW_RIGHT] * presses))
        stars = float(slider.get_attribute("value"))
        assert stars == presses * 0.5, f"slider {slider.get_attribute('name')} at {stars} after {presses} presses"
        rated[int(slider.get_attribute("name")[1:])] = stars
    return rated


def choose_new_with_keyboard(driver):
    radio = driver.find_element(By.CSS_SELECTOR, "input[name=years][value=new]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", radio)
    radio.send_keys(Keys.SPACE)
    assert radio.is_selected(), "the 'new' radio button is not selected"


def check_results(driver, rated, where):
    cards = driver.find_elements(By.CSS_SELECTOR, ".results .card.result")
    assert len(cards) == 5, f"{where}: {len(cards)} results instead of 5"
    for card in cards:
        movie_id = int(card.get_attribute("data-movie-id"))
        year = int(card.find_element(By.CSS_SELECTOR, ".year").text)
        title = card.find_element(By.CSS_SELECTOR, ".title").text
        assert year >= 2000, f"{where}: {title} ({year}) is older than 2000"
        assert movie_id not in rated, f"{where}: {title} was rated by the visitor"
        assert card.find_element(By.CSS_SELECTOR, ".poster").get_attribute("src"), f"{where}: no poster"
        links = [a.text for a in card.find_elements(By.CSS_SELECTOR, ".links a")]
        assert "IMDb" in links and "Trailer" in links, f"{where}: links {links}"
        assert card.find_element(By.CSS_SELECTOR, ".score-value").text, f"{where}: no score"
    return [int(c.get_attribute("data-movie-id")) for c in cards]


# The element tree of a card as "tag.class(children)", repeated siblings once (a card's links and
# "because" titles vary in number): the server's render_movie_card() and web/app.js's movieCard() must
# build the same tree.
OUTLINE_JS = """
function outline(e) {
  var kids = [];
  Array.prototype.forEach.call(e.children, function (c) {
    var o = outline(c);
    if (kids[kids.length - 1] !== o) kids.push(o);
  });
  var cls = e.className ? '.' + e.className.split(/\\s+/).sort().join('.') : '';
  return e.tagName.toLowerCase() + cls + (kids.length ? '(' + kids.join(' ') + ')' : '');
}
return outline(arguments[0]);
"""


def outline(driver, card):
    return driver.execute_script(OUTLINE_JS, card)


def full_card_outline(driver, selector, parts=(".year", ".genres")):
    """The outline of the first card under `selector` that shows every optional part in `parts` (a movie
    may have no year or genres, a result no explanation); None when no card does."""
    for card in driver.find_elements(By.CSS_SELECTOR, selector):
        if all(card.find_elements(By.CSS_SELECTOR, part) for part in parts):
            return outline(driver, card)
    return None


def explained_result_outline(driver):
    """The outline of the first full result card that names the rated movies it comes from."""
    return full_card_outline(driver, ".results .card.result", (".year", ".genres", ".because cite"))


def shot(driver, artifacts, name):
    path = os.path.join(artifacts, name)
    driver.save_screenshot(path)
    print(f"screenshot: {path}")


def with_javascript(chromium, url, artifacts):
    driver = make_driver(chromium, javascript=True)
    try:
        driver.get(url + "/")
        WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#cards .card")))
        shot(driver, artifacts, "home.png")
        server_card = full_card_outline(driver, "#cards .card")
        rated = rate_with_keyboard(driver)
        first = next(iter(rated))
        label = driver.find_element(By.ID, f"o-{first}").text
        assert label == f"{rated[first]:g} \u2605", f"the slider's label says {label!r}"  # the script updates it
        choose_new_with_keyboard(driver)
        button = driver.find_element(By.ID, "recommend")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.send_keys(Keys.ENTER)
        WebDriverWait(driver, 30).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results .card.result")) == 5)
        assert driver.current_url.rstrip("/") == url, f"the page navigated to {driver.current_url}"
        ids = check_results(driver, rated, "with JavaScript")
        js_result = explained_result_outline(driver)
        # Nothing was reloaded: the sliders keep their values.
        for movie_id, stars in rated.items():
            value = float(driver.find_element(By.NAME, f"r{movie_id}").get_attribute("value"))
            assert value == stars, f"slider r{movie_id} is {value} after recommending, was {stars}"
        driver.execute_script("document.getElementById('results').scrollIntoView({block: 'start'});")
        shot(driver, artifacts, "results-js.png")
        # Phone width.
        driver.set_window_size(390, 1400)
        driver.execute_script("document.getElementById('results').scrollIntoView({block: 'start'});")
        shot(driver, artifacts, "results-js-phone.png")
        # "Show me others" builds the new cards in the page: the same tree as the server's.
        driver.set_window_size(1280, 1600)
        before = {c.get_attribute("data-movie-id") for c in driver.find_elements(By.CSS_SELECTOR, "#cards .card")}
        shuffle = driver.find_element(By.ID, "shuffle")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", shuffle)
        shuffle.send_keys(Keys.ENTER)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cards .card") and all(
            c.get_attribute("data-movie-id") not in before for c in d.find_elements(By.CSS_SELECTOR, "#cards .card")))
        assert driver.current_url.rstrip("/") == url, f"shuffling navigated to {driver.current_url}"
        js_card = full_card_outline(driver, "#cards .card")
        assert js_card and server_card, "no drawn movie has both a year and genres"
        assert js_card == server_card, f"movieCard() builds {js_card}, the server renders {server_card}"
        print(f"with JavaScript: {len(rated)} ratings -> {ids}")
        return js_result
    finally:
        driver.quit()


def without_javascript(chromium, url, artifacts):
    driver = make_driver(chromium, javascript=False)
    try:
        driver.get(url + "/")
        WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#cards .card")))
        rated = rate_with_keyboard(driver)
        choose_new_with_keyboard(driver)
        button = driver.find_element(By.ID, "recommend")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.send_keys(Keys.ENTER)
        WebDriverWait(driver, 30).until(EC.url_contains("/recommendations"))
        WebDriverWait(driver, 30).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".results .card.result")) == 5)
        ids = check_results(driver, rated, "without JavaScript")
        server_result = explained_result_outline(driver)
        shot(driver, artifacts, "results-nojs.png")
        # Back to the ratings: every rating is still there.
        back = driver.find_element(By.ID, "change-ratings")
        back.send_keys(Keys.ENTER)
        WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "rate-form")))
        for movie_id, stars in rated.items():
            value = float(driver.find_element(By.NAME, f"r{movie_id}").get_attribute("value"))
            assert value == stars, f"slider r{movie_id} is {value} after going back, was {stars}"
        assert driver.find_element(By.CSS_SELECTOR, "input[name=years][value=new]").is_selected()
        shot(driver, artifacts, "back-to-ratings-nojs.png")
        # Nothing rated: a clear message.
        driver.get(url + "/")
        button = driver.find_element(By.ID, "recommend")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.send_keys(Keys.ENTER)
        WebDriverWait(driver, 30).until(EC.url_contains("/recommendations"))
        assert "Rate at least one movie" in driver.find_element(By.TAG_NAME, "h1").text
        print(f"without JavaScript: {len(rated)} ratings -> {ids}")
        return server_result
    finally:
        driver.quit()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    artifacts = os.environ.get("CINEFACTOR_ARTIFACTS") or (sys.argv[2] if len(sys.argv) > 2 else
                                                          os.path.dirname(binary))
    artifacts = os.path.join(os.path.abspath(artifacts), "browser-e2e")
    chromium = find_chromium()
    if not chromium:
        skip("Chromium is not installed")
    if not shutil.which("chromedriver"):
        skip("chromedriver is not installed")
    if not os.access(binary, os.X_OK):
        print(f"FAIL: {binary} is not an executable")
        return 1
    os.makedirs(artifacts, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="cinefactor-e2e-") as tmp:
        data = os.path.join(tmp, "data")
        model = os.path.join(tmp, "svd.cfm")
        run([binary, "-q", "data", "synth", "--preset", "small", "--out", data])
        run([binary, "-q", "train", "--data", data, "--algo", "svd", "-k", "16", "--device", "cpu", "--out", model])
        serve = Serve(binary, model, tmp)
        try:
            js_result = with_javascript(chromium, serve.url, artifacts)
            server_result = without_javascript(chromium, serve.url, artifacts)
            # The results the script shows and the results page: one card markup.
            assert js_result and server_result, "no result card explains itself"
            assert js_result == server_result, \
                f"movieCard() builds the result {js_result}, the server renders {server_result}"
        except Exception:
            traceback.print_exc()
            serve.proc.kill()
            print("1 failed")
            return 1
        serve.stop()
    print("browser end-to-end: 2 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
