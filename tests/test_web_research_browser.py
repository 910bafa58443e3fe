"""The attention-over-time chart in a real browser (Debian chromium, headless) against the
real server: it renders, a click on a bar filters the results to its period, compared
queries draw three series, the keyboard reaches every bar, and it fits a 390 px phone,
where it follows the hits (screenshots in /tmp/screens/)."""

from __future__ import annotations

import test_web_browser
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from test_web_browser import (
    PHONE,
    make_driver,
    mouse_click,
    params,
    press_tab,
    screenshot,
    tabs_to,
    wait,
)

# The browser of test_web_browser (one per module; fails a test on a console error).
chrome = test_web_browser.chrome
browser = test_web_browser.browser
pytestmark = test_web_browser.pytestmark  # chromium needed; the browser and slow tiers


def bars(driver: WebDriver, series: int = 0) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f".timeline-chart .series-{series} a.bar")


def box(driver: WebDriver, element: WebElement) -> dict:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return {left: r.left, right: r.right, width: r.width, height: r.height};",
        element,
    )


def stats_count(driver: WebDriver) -> int:
    text = driver.find_element(By.CSS_SELECTOR, ".stats").text
    return int("".join(ch for ch in text.split("стат")[0] if ch.isdigit()))


def test_the_chart_renders_above_the_hits(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    shown = bars(browser)
    assert len(shown) >= 5
    heights = [box(browser, bar.find_element(By.TAG_NAME, "rect"))["height"] for bar in shown]
    assert all(h > 0 for h in heights) and max(heights) > 100
    chart = browser.find_element(By.CSS_SELECTOR, ".timeline-chart")
    first_hit = browser.find_element(By.CSS_SELECTOR, ".hit")
    assert chart.location["y"] < first_hit.location["y"]  # above the hits, though after them
    assert "Статей по" in browser.find_element(By.CSS_SELECTOR, ".timeline-caption").text


def test_a_click_on_a_bar_filters_the_results_to_its_period(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    bar = bars(browser)[0]
    count = int(bar.get_attribute("data-count"))
    mouse_click(browser, bar.find_element(By.TAG_NAME, "rect"))
    wait(browser, lambda d: "from" in params(d), "the period in the URL")
    got = params(browser)
    assert got["q"] == "переговоры" and got["from"] <= got["to"]
    wait(browser, lambda d: stats_count(d) == count, f"{count} results")
    dates = [
        e.get_attribute("datetime") for e in browser.find_elements(By.CSS_SELECTOR, ".hit time")
    ]
    assert dates and all(got["from"] <= day <= got["to"] for day in dates)


def test_comparison_draws_three_series(browser, live_server):
    browser.get(live_server + "/?q=переговоры&compare=нефть&compare=футбол")
    groups = browser.find_elements(By.CSS_SELECTOR, ".timeline-chart g.series")
    assert [g.get_attribute("data-query") for g in groups] == ["переговоры", "нефть", "футбол"]
    fills = set()
    for index in range(3):
        drawn = bars(browser, index)
        assert drawn, index
        rect = drawn[0].find_element(By.TAG_NAME, "rect")
        fills.add(browser.execute_script("return getComputedStyle(arguments[0]).fill;", rect))
    assert len(fills) == 3
    legend = browser.find_elements(By.CSS_SELECTOR, ".timeline-legend li")
    assert [li.text.split()[0] for li in legend] == ["переговоры", "нефть", "футбол"]
    screenshot(browser, "timeline-compare-desktop")


def test_the_keyboard_reaches_every_bar(browser, live_server):
    browser.get(live_server + "/?q=переговоры")
    shown = bars(browser)
    assert tabs_to(browser, shown[0], most=150)
    tip = browser.find_element(By.CSS_SELECTOR, ".chart-tip")  # chart.js: the focused bar's
    assert tip.is_displayed() and tip.text == shown[0].get_attribute("aria-label")
    for bar in shown[1:]:
        assert press_tab(browser) == bar
    label = browser.switch_to.active_element.get_attribute("aria-label")
    assert "«переговоры»" in label and "стат" in label
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, lambda d: "from" in params(d), "Enter on a bar follows it")


def test_the_chart_fits_a_phone(browser, live_server):
    browser.set_window_size(*PHONE)
    browser.get(live_server + "/?q=переговоры&compare=нефть&compare=футбол")
    width = browser.execute_script("return document.documentElement.clientWidth;")
    assert browser.execute_script("return document.documentElement.scrollWidth;") <= width
    chart = browser.find_element(By.CSS_SELECTOR, ".timeline-chart")
    assert box(browser, chart)["right"] <= width
    for index in range(3):
        for bar in bars(browser, index):
            assert box(browser, bar.find_element(By.TAG_NAME, "rect"))["width"] >= 2
    last_hit = browser.find_elements(By.CSS_SELECTOR, ".hit")[-1]
    assert chart.location["y"] > last_hit.location["y"]  # the first hit stays near the top
    browser.execute_script("arguments[0].scrollIntoView();", chart)
    screenshot(browser, "timeline-phone")


def test_the_chart_works_without_javascript(live_server):
    driver = make_driver(javascript=False)
    try:
        driver.get(live_server + "/?q=переговоры")
        bar = bars(driver)[-1]
        assert bar.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        count = int(bar.get_attribute("data-count"))
        mouse_click(driver, bar.find_element(By.TAG_NAME, "rect"))
        wait(driver, lambda d: "from" in params(d), "the period in the URL")
        assert stats_count(driver) == count
        assert not driver.find_elements(By.CSS_SELECTOR, ".chart-tip")
    finally:
        driver.quit()
