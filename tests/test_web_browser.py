"""The search page in a real browser (Debian chromium, headless) against the real server.

Live results while typing (sent with typing=1), keyboard-chosen suggestions, facets,
pages and the back button, the correction notice, the article with HTML in it shown as
text, keyboard access (few Tab presses to the first hit, a skip link, a visible focus
ring), the filters behind a button on a phone, the page without JavaScript, and
screenshots (desktop and phone) in /tmp/screens/.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENS = Path("/tmp/screens")
DESKTOP = (1280, 900)
PHONE = (390, 844)
WAIT = 10

pytestmark = [
    pytest.mark.skipif(
        not (CHROMEDRIVER.exists() and CHROMIUM.exists()),
        reason="needs Debian chromium and chromium-driver (/usr/bin/chromium, "
        "/usr/bin/chromedriver)",
    ),
    pytest.mark.browser,
    pytest.mark.slow,
]


def make_driver(javascript: bool = True) -> WebDriver:
    """Headless chromium through the system chromedriver: selenium-manager never runs."""
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--lang=ru-RU",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ):  # fmt: skip
        options.add_argument(argument)
    prefs: dict[str, object] = {"intl.accept_languages": "ru-RU,ru"}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_window_size(*DESKTOP)
    return driver


@pytest.fixture(scope="module")
def chrome() -> Iterator[WebDriver]:
    driver = make_driver()
    yield driver
    driver.quit()


@pytest.fixture
def browser(chrome: WebDriver, live_server: str) -> Iterator[WebDriver]:
    """The shared browser at desktop size; fails the test on any console error."""
    chrome.set_window_size(*DESKTOP)
    chrome.get("about:blank")
    chrome.get_log("browser")  # drop what earlier tests left
    yield chrome
    errors = [
        entry["message"]
        for entry in chrome.get_log("browser")
        if entry["level"] == "SEVERE" and "status of 40" not in entry["message"]
    ]
    assert not errors, errors


# --- helpers -------------------------------------------------------------------------------


def wait(driver: WebDriver, condition: Callable[[WebDriver], object], message: str = ""):
    """Wait for ``condition``; elements replaced by a live update meanwhile are retried."""
    waiter = WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))
    return waiter.until(condition, message)


def params(driver: WebDriver) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(driver.current_url).query).items()}


def query_box(driver: WebDriver) -> WebElement:
    return driver.find_element(By.ID, "q")


def hits(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#results-body .hit")


def hit_titles(driver: WebDriver) -> list[str]:
    return texts(driver, "#results-body .hit-title")


def results_for(driver: WebDriver, q: str) -> None:
    """Wait until the results on screen are those of ``q``."""
    wait(
        driver,
        lambda d: (
            d.find_element(By.ID, "results-body").get_attribute("data-q") == q
            and d.find_element(By.ID, "results").get_attribute("aria-busy") is None
        ),
        f"results for {q!r}",
    )


def facet_link(driver: WebDriver, facet: str, value: str) -> WebElement:
    return driver.find_element(
        By.XPATH, f"//section[contains(@class,'facet-{facet}')]//a[.//span[text()='{value}']]"
    )


def texts(driver: WebDriver, css: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def hit_dates(driver: WebDriver) -> list[str]:
    times = driver.find_elements(By.CSS_SELECTOR, "#results-body .hit time")
    return [e.get_attribute("datetime") or "" for e in times]


def shown_suggestions(driver: WebDriver, typed: str) -> list[str]:
    """The suggestions for ``typed`` once on screen and no longer changing."""
    script = (
        "const list = document.getElementById('suggestions');"
        "return list.hidden ? [] : [...list.children].map(li => li.textContent);"
    )
    seen: list[list[str]] = []

    def settled(d: WebDriver) -> list[str] | None:
        current = d.execute_script(script)
        seen.append(current)
        ok = current and all(s.startswith(typed) for s in current)
        return current if ok and len(seen) > 1 and seen[-2] == current else None

    return WebDriverWait(driver, WAIT, poll_frequency=0.3).until(settled, "suggestions")


def mouse_click(driver: WebDriver, element: WebElement) -> None:
    """A click of the mouse where ``element`` is on screen, as the browser gets one."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    box = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return [r.left + r.width / 2, r.top + r.height / 2];",
        element,
    )
    for kind in ("mousePressed", "mouseReleased"):
        driver.execute_cdp_cmd(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
        )


def mark_page(driver: WebDriver) -> None:
    """A marker that a full page load would erase: proves navigation stayed in the page."""
    driver.execute_script("window.__samePage = true;")


def still_same_page(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return window.__samePage === true;"))


def assert_no_alert(driver: WebDriver) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is the check


def screenshot(driver: WebDriver, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


# --- live search ---------------------------------------------------------------------------


def test_results_update_while_typing(browser, live_server):
    browser.get(live_server + "/")
    assert browser.switch_to.active_element == query_box(browser)  # autofocus
    mark_page(browser)
    query_box(browser).send_keys("переговоры")  # no Enter
    results_for(browser, "переговоры")
    assert len(hits(browser)) == 10
    marks = browser.find_elements(By.CSS_SELECTOR, "#results-body .hit mark")
    assert marks and all(m.text.lower().startswith("переговор") for m in marks)
    assert params(browser) == {"q": "переговоры"}
    assert browser.title == "«переговоры» — поиск по новостям"
    assert still_same_page(browser)


def test_the_newest_query_wins(browser, live_server):
    browser.get(live_server + "/")
    box = query_box(browser)
    box.send_keys("нефть")
    browser.execute_script("return new Promise(r => setTimeout(r, 260));")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("хоккеисты")
    results_for(browser, "хоккеисты")
    browser.execute_script("return new Promise(r => setTimeout(r, 600));")
    assert hit_titles(browser) == ["Хоккеисты ЦСКА выиграли Кубок Гагарина"]
    assert params(browser) == {"q": "хоккеисты"}


def test_choose_a_suggestion_with_the_keyboard(browser, live_server):
    browser.get(live_server + "/")
    box = query_box(browser)
    box.send_keys("министр пере")
    options = shown_suggestions(browser, "министр пере")
    assert 1 <= len(options) <= 10
    assert box.get_attribute("aria-expanded") == "true"
    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_UP)
    active = browser.find_elements(By.CSS_SELECTOR, "#suggestions .suggestion.active")
    assert [a.text for a in active] == [options[0]]
    assert box.get_attribute("aria-activedescendant") == "suggestion-0"
    box.send_keys(Keys.ENTER)
    results_for(browser, options[0])
    assert box.get_attribute("value") == options[0]
    assert browser.find_element(By.ID, "suggestions").get_attribute("hidden") is not None
    assert params(browser) == {"q": options[0]}


def test_escape_closes_the_suggestions(browser, live_server):
    browser.get(live_server + "/")
    box = query_box(browser)
    box.send_keys("пере")
    shown_suggestions(browser, "пере")
    box.send_keys(Keys.ESCAPE)
    wait(browser, lambda d: d.find_element(By.ID, "suggestions").get_attribute("hidden"))
    assert box.get_attribute("value") == "пере"


def test_facet_page_two_and_back(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    mark_page(browser)
    all_total = browser.find_element(By.CSS_SELECTOR, ".stats").text
    facet_link(browser, "source", "ТАСС").click()
    wait(browser, lambda d: params(d).get("source") == "ТАСС", "source filter in the URL")
    results_for(browser, "переговоры")
    assert set(texts(browser, ".hit .meta-source")) == {"ТАСС"}
    assert browser.find_element(By.CSS_SELECTOR, ".facet-link.active").text.startswith("ТАСС")
    assert "источник: ТАСС" in browser.find_element(By.CSS_SELECTOR, ".chips").text
    page_one = hit_titles(browser)

    browser.find_element(By.CSS_SELECTOR, ".pager-next").click()
    wait(browser, lambda d: params(d).get("page") == "2", "page 2 in the URL")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".pager-current").text == "2")
    page_two = hit_titles(browser)
    assert page_two and not set(page_two) & set(page_one)

    browser.back()
    wait(browser, lambda d: "page" not in params(d), "back to page 1")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".pager-current").text == "1")
    assert hit_titles(browser) == page_one
    assert params(browser) == {"q": "переговоры", "source": "ТАСС"}

    browser.back()
    wait(browser, lambda d: "source" not in params(d), "back to no filter")
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".facet-link.active"))
    assert (
        browser.find_element(By.CSS_SELECTOR, ".stats").text.split(" за ")[0]
        == (all_total.split(" за ")[0])
    )
    assert query_box(browser).get_attribute("value") == "переговоры"
    assert still_same_page(browser)

    browser.forward()
    wait(browser, lambda d: params(d).get("source") == "ТАСС", "forward again")


def test_sort_and_date_range(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    Select(browser.find_element(By.ID, "sort")).select_by_value("date")
    wait(browser, lambda d: params(d).get("sort") == "date")
    results_for(browser, "переговоры")
    dates = hit_dates(browser)
    assert dates == sorted(dates, reverse=True)
    browser.execute_script(
        "const f = document.getElementById('from'); f.value = '2021-01-01';"
        "f.dispatchEvent(new Event('change', {bubbles: true}));"
    )
    wait(browser, lambda d: params(d).get("from") == "2021-01-01")
    results_for(browser, "переговоры")
    dates = hit_dates(browser)
    assert dates and all(d >= "2021-01-01" for d in dates)
    assert "с 1 января 2021" in browser.find_element(By.CSS_SELECTOR, ".chips").text
    assert params(browser) == {"q": "переговоры", "sort": "date", "from": "2021-01-01"}


def test_year_facet(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    facet_link(browser, "year", "2019").click()
    wait(browser, lambda d: params(d).get("from") == "2019-01-01")
    results_for(browser, "переговоры")
    assert params(browser)["to"] == "2019-12-31"
    assert browser.find_element(By.ID, "from").get_attribute("value") == "2019-01-01"
    assert browser.find_element(By.ID, "to").get_attribute("value") == "2019-12-31"
    assert "2019 год" in browser.find_element(By.CSS_SELECTOR, ".chips").text


def test_layout_correction_notice(browser, live_server):
    browser.get(live_server + "/")
    # While a word is being typed (typing=1) it is not corrected: Enter ends it.
    query_box(browser).send_keys("gthtujdjhs", Keys.ENTER)
    notice = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".notice-correction"))[0]
    assert notice.text.startswith("Показаны результаты по запросу «переговоры».")
    assert "Искать вместо этого «gthtujdjhs»" in notice.text
    assert browser.find_elements(By.CSS_SELECTOR, ".hit mark")
    browser.find_element(By.CSS_SELECTOR, ".notice-correction a.original").click()
    wait(browser, lambda d: params(d).get("correct") == "0")
    results_for(browser, "gthtujdjhs")
    assert not browser.find_elements(By.CSS_SELECTOR, ".notice-correction")
    assert "ничего не нашлось" in browser.find_element(By.CSS_SELECTOR, ".empty").text


def test_did_you_mean_link(browser, live_server):
    browser.get(live_server + "/?q=перговоры")
    link = browser.find_element(By.CSS_SELECTOR, ".notice-suggestion a.did-you-mean")
    assert "Возможно, вы имели в виду «переговоры»" in link.find_element(By.XPATH, "..").text
    link.click()
    results_for(browser, "переговоры")
    assert query_box(browser).get_attribute("value") == "переговоры"
    assert len(hits(browser)) == 10


def test_xss_article_is_shown_as_text(browser, live_server):
    browser.get(live_server + "/")
    query_box(browser).send_keys("опасный")
    results_for(browser, "опасный")
    assert_no_alert(browser)
    title = browser.find_element(By.CSS_SELECTOR, ".hit-title")
    assert title.text == "<script>alert(1)</script> Опасный заголовок"
    assert not browser.find_elements(By.CSS_SELECTOR, "#results img, #results script")
    title.find_element(By.TAG_NAME, "a").click()
    wait(browser, lambda d: "/doc/xss-1" in d.current_url)
    assert_no_alert(browser)
    assert browser.find_element(By.CSS_SELECTOR, ".doc-title").text.startswith("<script>")
    text = browser.find_element(By.CSS_SELECTOR, ".doc-text").text
    assert "<img src=x onerror=alert(2)>" in text
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 1  # app.js only
    assert browser.find_element(By.CSS_SELECTOR, ".doc-title mark").text == "Опасный"


def test_xss_query_is_shown_as_text(browser, live_server):
    browser.get(live_server + "/")
    query_box(browser).send_keys("<img src=x onerror=alert(7)> нефть")
    results_for(browser, "<img src=x onerror=alert(7)> нефть")
    assert_no_alert(browser)
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.title.startswith("«<img src=x")


def test_article_page_back_to_search(browser, live_server):
    browser.get(live_server + "/?q=нефть")
    browser.find_element(By.CSS_SELECTOR, ".hit-title a").click()
    wait(browser, lambda d: "/doc/" in d.current_url)
    assert browser.find_elements(By.CSS_SELECTOR, ".doc-text mark")
    browser.find_element(By.CSS_SELECTOR, ".back-link").click()
    results_for(browser, "нефть")


def fragment_requests(driver: WebDriver) -> list[str]:
    """The results fragments the page fetched (path and query), oldest first."""
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    return [name.split("/", 3)[3] for name in names if "/results?" in name]


def test_typing_sends_the_typing_flag_until_a_space(browser, live_server):
    browser.get(live_server + "/")
    box = query_box(browser)
    box.send_keys("переговор")  # a word being typed
    results_for(browser, "переговор")
    assert hits(browser)  # found as the start of a word, not corrected
    assert "typing=1" in fragment_requests(browser)[-1]
    box.send_keys(" ")
    results_for(browser, "переговор ")
    assert "typing" not in fragment_requests(browser)[-1]
    assert "typing" not in browser.current_url  # the page's URL has the search only


# --- keyboard ---------------------------------------------------------------------------------


def press_tab(driver: WebDriver) -> WebElement:
    ActionChains(driver).send_keys(Keys.TAB).perform()
    return driver.switch_to.active_element


def tabs_to(driver: WebDriver, target: WebElement, most: int = 80) -> int:
    """How many Tab presses from the focused element reach ``target``."""
    for presses in range(1, most + 1):
        if press_tab(driver) == target:
            return presses
    raise AssertionError(f"{most} Tab presses never reached {target.text!r}")


def test_the_first_result_is_a_few_tab_presses_from_the_search_box(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    assert browser.switch_to.active_element.tag_name == "body"  # no autofocus on results
    query_box(browser).click()
    first = browser.find_element(By.CSS_SELECTOR, ".hit-title a")
    # The button, the order, two dates (four stops each): the facets come after the hits.
    assert tabs_to(browser, first) <= 12


def skip_to_results(driver: WebDriver) -> None:
    """The first Tab on the page and Enter: the skip link, which moves the focus."""
    skip = press_tab(driver)
    assert skip.text == "К результатам" and skip.is_displayed()
    skip.send_keys(Keys.ENTER)
    wait(driver, lambda d: d.switch_to.active_element.get_attribute("id") == "results")


def test_the_skip_link_leads_to_the_results(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    skip_to_results(browser)
    got = press_tab(browser)
    assert got == browser.find_element(By.CSS_SELECTOR, ".hit-title a"), got.tag_name


def relative_luminance(rgb: tuple[float, ...]) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def css_color(value: str, under: tuple[float, ...] = (255, 255, 255)) -> tuple[float, ...]:
    """An rgb()/rgba() computed colour, laid over ``under`` when translucent."""
    numbers = [float(n) for n in value[value.index("(") + 1 : -1].split(",")]
    alpha = numbers[3] if len(numbers) == 4 else 1.0
    return tuple(alpha * c + (1 - alpha) * u for c, u in zip(numbers[:3], under, strict=True))


def contrast(one: tuple[float, ...], other: tuple[float, ...]) -> float:
    light, dark = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def focus_ring(driver: WebDriver) -> tuple[float, float]:
    """The focused element's outline: width in px and its contrast with the page."""
    style = driver.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return [s.outlineStyle, s.outlineWidth, s.outlineColor,"
        "        getComputedStyle(document.body).backgroundColor];"
    )
    outline_style, width, color, page = style
    assert outline_style not in ("none", "hidden"), style
    background = css_color(page)
    return float(width.removesuffix("px")), contrast(css_color(color, background), background)


def test_the_focus_ring_is_clearly_visible(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    skip_to_results(browser)
    press_tab(browser)  # the first hit, reached by the keyboard
    width, ratio = focus_ring(browser)
    assert width >= 2 and ratio >= 3, (width, ratio)
    query_box(browser).click()
    width, ratio = focus_ring(browser)
    assert width >= 2 and ratio >= 3, (width, ratio)


# --- phone ------------------------------------------------------------------------------------


def shown(driver: WebDriver, element: WebElement) -> bool:
    """Whether the element is rendered: selenium's is_displayed() takes whatever is in a
    closed <details> for hidden, even where the style shows it."""
    return bool(driver.execute_script("return arguments[0].checkVisibility();", element))


def test_on_a_phone_the_filters_are_behind_a_button(browser, live_server):
    browser.set_window_size(*PHONE)
    browser.get(live_server + "/?q=переговоры")
    first = browser.find_element(By.CSS_SELECTOR, ".hit")
    assert first.rect["y"] <= 330, first.rect  # on a 844 px screen: the first hit near the top
    toggle = browser.find_element(By.CSS_SELECTOR, ".filters-toggle")
    assert toggle.text == "Фильтры" and toggle.is_displayed()
    assert not shown(browser, facet_link(browser, "source", "ТАСС"))
    toggle.click()
    facet_link(browser, "source", "ТАСС").click()
    wait(browser, lambda d: params(d).get("source") == "ТАСС", "source filter in the URL")
    results_for(browser, "переговоры")
    assert set(texts(browser, ".hit .meta-source")) == {"ТАСС"}


def test_on_a_desktop_the_filters_stand_open_beside_the_hits(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    assert not browser.find_element(By.CSS_SELECTOR, ".filters-toggle").is_displayed()
    facet = facet_link(browser, "source", "ТАСС")
    assert shown(browser, facet)
    assert facet.rect["x"] < browser.find_element(By.CSS_SELECTOR, ".hit").rect["x"]


# --- without JavaScript ---------------------------------------------------------------------


def test_works_without_javascript(live_server):
    driver = make_driver(javascript=False)
    try:
        driver.get(live_server + "/")
        box = query_box(driver)
        box.send_keys("переговоры")
        assert not hits(driver)  # nothing happens until the form is sent
        box.send_keys(Keys.ENTER)
        wait(driver, lambda d: params(d).get("q") == "переговоры")
        assert len(hits(driver)) == 10
        assert driver.find_elements(By.CSS_SELECTOR, ".hit mark")
        # Without the script the filters' <details> stays closed and the style shows what
        # it holds: chromedriver will not click in there, a person (a mouse event) can.
        mouse_click(driver, facet_link(driver, "topic", "Наука"))
        wait(driver, lambda d: params(d).get("topic") == "Наука")
        assert set(texts(driver, ".hit .meta-topic")) == {"Наука"}
        driver.find_element(By.CSS_SELECTOR, ".pager-next").click()
        wait(driver, lambda d: params(d).get("page") == "2")
        Select(driver.find_element(By.ID, "sort")).select_by_value("date_asc")
        driver.find_element(By.CSS_SELECTOR, ".search-button").click()
        wait(driver, lambda d: params(d).get("sort") == "date_asc")
        state = params(driver)
        assert state["topic"] == "Наука" and "page" not in state  # the form keeps filters
        dates = hit_dates(driver)
        assert dates == sorted(dates)
        assert driver.find_element(By.ID, "suggestions").get_attribute("hidden") is not None
        driver.back()
        wait(driver, lambda d: params(d).get("page") == "2")
        assert driver.find_element(By.CSS_SELECTOR, ".pager-current").text == "2"
    finally:
        driver.quit()


# --- screenshots -----------------------------------------------------------------------------

SCREENS_TO_TAKE = {
    "home": "/",
    "results": "/?q=gthtujdjhs",
    "filtered-page-2": "/?q=переговоры&source=ТАСС&page=2",
    "did-you-mean": "/?q=перговоры",
    "long-title": "/?q=программа модернизации аэропортов",
    "no-results": "/?q=zzzqqq&source=RT",
    "bad-request": "/?q=нефть&page=abc",
    "xss-article": "/doc/xss-1?q=опасный",
    "article": "/doc/brent-2022?q=нефть",
    "not-found": "/doc/no-such-article",
}


@pytest.mark.parametrize(("size", "dimensions"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots(browser, live_server, size, dimensions):
    browser.set_window_size(*dimensions)
    for name, path in SCREENS_TO_TAKE.items():
        browser.get(live_server + path)
        wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
        width = browser.execute_script("return document.documentElement.clientWidth")
        scroll = browser.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width, f"{name}: the page scrolls sideways at {size} size"
        assert screenshot(browser, f"{size}-{name}").stat().st_size > 1000
    browser.get(live_server + "/")
    query_box(browser).send_keys("пере")
    shown_suggestions(browser, "пере")
    query_box(browser).send_keys(Keys.ARROW_DOWN)
    screenshot(browser, f"{size}-suggestions")
