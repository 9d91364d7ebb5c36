"""Drives pgw's web page in a real headless Chromium (Selenium + the Debian
chromedriver), as an operator would: load, filter, open a group, delete one,
look at the status view. Prints one JSON object with what it saw; the Rust
test (tests/ui.rs) checks it and the store through the API.

usage: ui_check.py interact BASE_URL SCREENSHOT_DIR
       ui_check.py views BASE_URL SCREENSHOT_DIR
       ui_check.py measure BASE_URL SCREENSHOT_DIR GROUPS
       ui_check.py badges BASE_URL SCREENSHOT_DIR GROUPS
"""

import json
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 20


def browser(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    # The flags that keep Chromium from reaching out to the network, which
    # is closed here, and from needing a sandbox or a GPU.
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def rows(d):
    return d.find_elements(By.CSS_SELECTOR, "#groups tbody tr.group")


def wait_rows(d, n):
    WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) == n)


def set_filter(d, text):
    box = d.find_element(By.ID, "filter")
    box.clear()
    box.send_keys(text)


def detail_text(d):
    pres = d.find_elements(By.CSS_SELECTOR, "tr.detail pre")
    return pres[0].text if pres else ""


def row_for(d, key_part):
    for r in rows(d):
        if key_part in r.get_attribute("data-key"):
            return r
    raise AssertionError(f"no row with {key_part!r}")


def interact(base, shots):
    out = {}
    with tempfile.TemporaryDirectory() as profile:
        d = browser(profile)
        try:
            d.get(base + "/")
            WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) > 0)
            out["initial"] = sorted(r.get_attribute("data-key") for r in rows(d))
            out["failed"] = sorted(
                r.get_attribute("data-key")
                for r in d.find_elements(By.CSS_SELECTOR, "#groups tbody tr.group.failed")
            )
            out["count_text"] = d.find_element(By.ID, "count").text
            odd = row_for(d, "odd")
            out["odd_label_text"] = odd.find_element(By.CSS_SELECTOR, "td.key").text
            out["odd_has_markup"] = len(odd.find_elements(By.CSS_SELECTOR, "td.key i")) > 0
            out["expires"] = {
                r.get_attribute("data-key"): r.find_element(By.CSS_SELECTOR, "td.expires").text
                for r in rows(d)
            }

            set_filter(d, 'job="web",instance=~"web-.*"')
            WebDriverWait(d, TIMEOUT).until(
                lambda d: all("web-" in r.get_attribute("data-key") for r in rows(d))
            )
            out["selector_filter"] = sorted(r.get_attribute("data-key") for r in rows(d))
            set_filter(d, "db-1")
            WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) == 1)
            out["text_filter"] = [r.get_attribute("data-key") for r in rows(d)]
            set_filter(d, "")
            wait_rows(d, len(out["initial"]))

            row_for(d, "web-2").find_element(By.CSS_SELECTOR, "td.key").click()
            WebDriverWait(d, TIMEOUT).until(lambda d: "requests_total" in detail_text(d))
            out["opened_metrics"] = detail_text(d)

            row_for(d, "db-1").find_element(By.CSS_SELECTOR, "button.delete").click()
            alert = WebDriverWait(d, TIMEOUT).until(lambda d: d.switch_to.alert)
            out["confirm_text"] = alert.text
            alert.accept()
            wait_rows(d, len(out["initial"]) - 1)
            out["after_delete"] = sorted(r.get_attribute("data-key") for r in rows(d))
            out["delete_all_visible"] = d.find_element(By.ID, "delete-all").is_displayed()
            d.save_screenshot(f"{shots}/groups.png")

            d.find_element(By.ID, "tab-status").click()
            WebDriverWait(d, TIMEOUT).until(
                lambda d: "Groups" in d.find_element(By.ID, "status-pgw").text
            )
            out["status_pgw"] = d.find_element(By.ID, "status-pgw").text
            out["status_flags"] = d.find_element(By.ID, "status-flags").text
            out["status_build"] = d.find_element(By.ID, "status-build").text
            d.save_screenshot(f"{shots}/status.png")
            out["console_errors"] = [
                e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"
            ]
        finally:
            d.quit()
    return out


def keys(d):
    return [r.get_attribute("data-key") for r in rows(d)]


def views(base, shots):
    """The order of the rows, what each says, and the filters in the URL:
    loaded from a URL, applied by clicking a count, kept over a reload."""
    out = {}
    with tempfile.TemporaryDirectory() as profile:
        d = browser(profile)
        try:
            d.get(base + "/")
            WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) > 0)
            out["order"] = keys(d)
            out["status"] = {
                r.get_attribute("data-key"): r.find_element(By.CSS_SELECTOR, "td.status").text
                for r in rows(d)
            }
            out["expires"] = {
                r.get_attribute("data-key"): r.find_element(By.CSS_SELECTOR, "td.expires").text
                for r in rows(d)
            }
            out["expires_header_shown"] = d.find_element(
                By.CSS_SELECTOR, "#groups th.expires"
            ).is_displayed()
            out["count_links"] = [
                a.text for a in d.find_elements(By.CSS_SELECTOR, "#count a.filter-link")
            ]
            d.save_screenshot(f"{shots}/sorted.png")

            # A shared URL with a selector: only the matching rows, and the
            # filter box shows it.
            d.get(base + '/?q=instance%3D~%22web-1.*%22')
            WebDriverWait(d, TIMEOUT).until(
                lambda d: len(rows(d)) > 0 and all("web-1" in k for k in keys(d))
            )
            out["url_filter_rows"] = keys(d)
            out["url_filter_box"] = d.find_element(By.ID, "filter").get_attribute("value")

            # Clicking a count applies its filter and puts it in the URL.
            d.get(base + "/")
            WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) == len(out["order"]))
            link = d.find_element(By.CSS_SELECTOR, '#count a.filter-link[data-filter="failed"]')
            out["failed_link_href"] = link.get_attribute("href")
            link.click()
            WebDriverWait(d, TIMEOUT).until(lambda d: "failed=1" in d.current_url)
            WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) < len(out["order"]))
            out["after_click_url"] = d.current_url
            out["after_click_rows"] = keys(d)
            out["after_click_checkbox"] = d.find_element(By.ID, "only-failed").is_selected()

            # Typing a filter is in the URL too, and a reload keeps the view.
            set_filter(d, "nightly")
            WebDriverWait(d, TIMEOUT).until(lambda d: "q=nightly" in d.current_url)
            d.refresh()
            WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) > 0)
            WebDriverWait(d, TIMEOUT).until(lambda d: len(rows(d)) == 1)
            out["after_reload_url"] = d.current_url
            out["after_reload_rows"] = keys(d)
            out["after_reload_checkbox"] = d.find_element(By.ID, "only-failed").is_selected()

            d.find_element(By.ID, "tab-status").click()
            WebDriverWait(d, TIMEOUT).until(
                lambda d: "Limit" in d.find_element(By.ID, "status-pgw").text
            )
            out["status_pgw"] = d.find_element(By.ID, "status-pgw").text
            out["status_flags"] = d.find_element(By.ID, "status-flags").text
            out["console_errors"] = [
                e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"
            ]
        finally:
            d.quit()
    return out


def measure(base, shots, groups):
    """Times the page with a large store: first rows on screen, and a filter."""
    out = {}
    with tempfile.TemporaryDirectory() as profile:
        d = browser(profile)
        try:
            start = time.monotonic()
            d.get(base + "/")
            WebDriverWait(d, 120, poll_frequency=0.01).until(
                lambda d: f"of {groups} groups" in d.find_element(By.ID, "count").text
            )
            out["load_to_rows_ms"] = round((time.monotonic() - start) * 1000)
            out["rows_rendered"] = len(rows(d))
            # The whole filter box at once, as a paste: the page filters
            # after its 120 ms typing pause, then draws the matching rows.
            start = time.monotonic()
            d.execute_script(
                "const f = document.getElementById('filter');"
                "f.value = arguments[0]; f.dispatchEvent(new Event('input'));",
                'instance=~"host-99.*"',
            )
            WebDriverWait(d, 60, poll_frequency=0.01).until(lambda d: len(rows(d)) == 111)
            out["filter_ms_including_120ms_pause"] = round((time.monotonic() - start) * 1000)
            start = time.monotonic()
            d.execute_script(
                "const f = document.getElementById('filter');"
                "f.value = ''; f.dispatchEvent(new Event('input'));"
            )
            WebDriverWait(d, 60, poll_frequency=0.01).until(lambda d: len(rows(d)) == 200)
            out["unfilter_ms_including_120ms_pause"] = round((time.monotonic() - start) * 1000)
            d.save_screenshot(f"{shots}/groups-{groups}.png")
        finally:
            d.quit()
    return out


def badges(base, shots, groups):
    """The badges of each group row once the list shows `groups` rows."""
    with tempfile.TemporaryDirectory() as profile:
        d = browser(profile)
        try:
            d.get(base + "/")
            wait_rows(d, groups)
            d.save_screenshot(f"{shots}/badges.png")
            return {
                r.get_attribute("data-key"): [
                    b.text for b in r.find_elements(By.CSS_SELECTOR, "td.key .badge")
                ]
                for r in rows(d)
            }
        finally:
            d.quit()


if __name__ == "__main__":
    mode, base, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "interact":
        result = interact(base, shots)
    elif mode == "views":
        result = views(base, shots)
    elif mode == "badges":
        result = badges(base, shots, int(sys.argv[4]))
    else:
        result = measure(base, shots, int(sys.argv[4]))
    print(json.dumps(result))
