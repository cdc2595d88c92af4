"""The order service as a person uses it: headless Chromium logs into the admin and into the
browsable API through their real login forms, and places an order from the API's HTML form.

Debian's ``chromium`` and ``chromium-driver`` drive it (``bash tools/browser.sh`` installs
them); selenium is pointed at their paths, so it never tries to download a browser or driver.
"""

import json
from pathlib import Path

import pytest
from conftest import USERS
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from saga_client import get_order, place_order, poll, stock_of, wait_terminal

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: The longest any page may take to answer: generous, as other e2e systems may share the CPUs.
TIMEOUT = 60
#: What the order form asks for (the serializers' snake_case names, which the form parsers
#: accept), and Django's CSRF token: nothing of the answer's fields.
ORDER_FORM_FIELDS = {"csrfmiddlewaretoken", "sku_code", "price", "quantity"}


@pytest.fixture
def browser():
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        # Fail, never skip: a CI machine without the browser would otherwise pass unseen.
        pytest.fail(
            f"{' and '.join(missing)} not found: install Debian's chromium and chromium-driver "
            "with `bash tools/browser.sh` (as root)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Root in a container: no user namespaces for Chromium's sandbox, and /dev/shm may be small.
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    # Wide enough that the browsable API's navigation bar (its "Log in" link) is not collapsed.
    options.add_argument("--window-size=1280,1024")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, condition, what: str):
    """``condition``'s first truthy result within TIMEOUT, else a failure saying where we were."""
    try:
        return WebDriverWait(driver, TIMEOUT).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"waited {TIMEOUT} s for {what}; at {driver.current_url} ({driver.title!r})"
        ) from None


def shown(driver: WebDriver, css: str, what: str):
    """The element ``css`` selects, once the page shows it."""
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), what)


def log_in(driver: WebDriver, role: str, then: str) -> None:
    """Fill the login form on the current page (the admin's and DRF's have the same fields) as
    the ``role``'s user (``customer``, ``staff``), submit it, and wait to land on ``then``."""
    username, password = USERS[role]
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait(driver, EC.url_to_be(then), f"the login as {username} to land on {then}")


def requested(driver: WebDriver) -> list[str]:
    """The URLs the page has asked for so far (Resource Timing), answered or not."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )


def cookie_names(driver: WebDriver) -> set[str]:
    return {cookie["name"] for cookie in driver.get_cookies()}


def shipped(services, order: dict) -> None:
    """Wait until the order's saga has shipped it and inventory has booked the shipment (the
    saga's last record), so no record of it is still in flight when the next test counts
    records (test_metrics)."""
    assert wait_terminal(services, order["id"], timeout=TIMEOUT)["status"] == "SHIPPED"
    poll(
        lambda: stock_of(services, order["skuCode"])["shipped"] == order["quantity"],
        timeout=TIMEOUT,
        message=f"inventory to book order {order['id']}'s shipment",
    )


def test_staff_log_into_the_order_admin_and_see_the_orders(browser, system, services, sku):
    order = place_order(services, sku, "9.99", 1)
    shipped(services, order)

    browser.get(system.url("order", "/admin/"))
    wait(browser, EC.url_contains("/admin/login/"), "the admin to ask for a login")
    log_in(browser, "staff", then=system.url("order", "/admin/"))
    # The service's own cookie names: a session of another service on this host stays apart.
    assert {"order_sessionid", "order_csrftoken"} <= cookie_names(browser)
    assert not {"sessionid", "csrftoken"} & cookie_names(browser)

    shown(browser, "tr.model-order th a", "the admin index's link to the orders").click()
    changelist = system.url("order", "/admin/orders/order/")
    wait(browser, EC.url_to_be(changelist), "the orders' changelist")
    assert order["orderNumber"] in shown(browser, "#result_list", "the list of orders").text
    assert browser.find_element(By.TAG_NAME, "h1").text == "Select order to view"


def test_a_customer_places_an_order_from_the_browsable_api(browser, system, services, sku):
    orders = system.url("order", "/api/orders")
    browser.get(orders)
    assert "HTTP 401 Unauthorized" in shown(browser, ".response-info", "the answer").text
    browser.find_element(By.LINK_TEXT, "Log in").click()
    wait(browser, EC.url_contains("/api-auth/login/"), "DRF's login page")
    log_in(browser, "customer", then=orders)
    assert {"order_sessionid", "order_csrftoken"} <= cookie_names(browser)
    assert "HTTP 200 OK" in shown(browser, ".response-info", "the list of orders").text

    # The HTML form is one of two tabs (the other takes raw JSON): show it, as a person would.
    browser.find_element(By.LINK_TEXT, "HTML form").click()
    form = shown(browser, "#post-object-form form", "the order form")
    form.find_element(By.NAME, "sku_code").send_keys(sku)
    form.find_element(By.NAME, "price").send_keys("12.50")
    form.find_element(By.NAME, "quantity").send_keys("3")
    form.find_element(By.TAG_NAME, "button").click()
    wait(browser, EC.staleness_of(form), "the POST's answer to replace the page")

    answer = shown(browser, ".response-info pre", "the POST's answer").text
    head, _, body = answer.partition("\n\n")
    assert head.startswith("HTTP 201 Created"), head
    order = json.loads(body)
    assert (order["skuCode"], order["price"], order["quantity"]) == (sku, "12.50", 3)
    assert f"Location: {orders}/{order['id']}" in head

    # The form after the POST asks again for what a client sends, not the answer's fields.
    form = browser.find_element(By.CSS_SELECTOR, "#post-object-form form")
    named = form.find_elements(By.CSS_SELECTOR, "[name]")
    assert {element.get_attribute("name") for element in named} == ORDER_FORM_FIELDS
    labels = [
        label.get_attribute("textContent").strip()
        for label in form.find_elements(By.TAG_NAME, "label")
    ]
    assert labels == ["SKU code", "Unit price", "Quantity"]

    # The customer's token reads the order the session placed, and its saga runs to the end.
    assert get_order(services, order["id"])["orderNumber"] == order["orderNumber"]
    shipped(services, order)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_render_with_nothing_fetched_from_another_host(browser, system, path):
    # Record what the page's Content-Security-Policy blocks, from before its first script runs.
    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "window.blocked = [];"
            " document.addEventListener('securitypolicyviolation',"
            " event => window.blocked.push(event.blockedURI));"
        },
    )
    browser.get(system.url("order", path))
    # Both readers fetch the schema and render its title into the page: proof they ran.
    wait(
        browser,
        lambda driver: "Order service API" in driver.find_element(By.TAG_NAME, "body").text,
        "the schema's title to be rendered",
    )

    origin = system.url("order", "/")
    assert origin + "api/schema/" in requested(browser)

    # Redoc's bundle asks for a logo on cdn.redoc.ly: the browser must have refused it, not
    # merely failed to reach it (there may be no internet where this runs).
    def foreign_and_not_blocked(driver: WebDriver) -> set[str]:
        foreign = {url for url in requested(driver) if not url.startswith(origin)}
        return foreign - set(driver.execute_script("return window.blocked"))

    wait(
        browser,
        lambda driver: not foreign_and_not_blocked(driver),
        "every request to another host to be blocked by the page's policy",
    )
