"""The REST API's web page in a real headless browser (Debian's chromium, driven by selenium):
log in, start a command, see the run appear and finish, read its output."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from hack.harness import REPO, Cluster, RestApi, token_for
from tests.cluster.helpers import adhoc, sim

pytestmark = pytest.mark.usefixtures("operator")
# What the page looked like (docs/web-ui.png in the README is one of these, copied by hand).
SCREENSHOT = REPO / ".cluster" / "web-ui.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromedriver = shutil.which("chromedriver")
    if chromedriver is None:
        pytest.fail("chromedriver is missing: make deps installs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    yield driver
    driver.quit()


def wait(driver: WebDriver, condition, timeout: float = 60, what: str = "the page"):
    # The table is drawn anew every 2 s: an element found a moment ago may be gone; look again.
    waiting = WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException])
    return waiting.until(condition, f"timed out waiting for {what}")


def run_row(driver: WebDriver, run: str):
    rows = driver.find_elements(By.CSS_SELECTOR, f'#runs tbody tr[data-run="{run}"]')
    return rows[0] if rows else None


def click_in_row(driver: WebDriver, run: str, label: str) -> bool:
    try:
        row = run_row(driver, run)
        if row is None:
            return False
        row.find_element(By.XPATH, f".//button[text()='{label}']").click()
        return True
    except StaleElementReferenceException:
        return False


def test_log_in_start_a_command_and_read_its_output(
    browser: WebDriver, rest_api: RestApi, installed: Cluster, namespace: str, sim_output
):
    sim_output(namespace, b"Hello from the web page\n")
    token = token_for(installed, namespace, "web-user", "edit")
    browser.get(f"{rest_api.url}/ui/?namespace={namespace}")

    # The login box: no token yet.
    wait(browser, lambda d: d.find_element(By.ID, "login").is_displayed(), what="the login box")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait(browser, lambda d: d.find_element(By.ID, "app").is_displayed(), what="the runs")
    assert browser.execute_script("return window.localStorage.length") == 0  # sessionStorage only

    browser.find_element(By.ID, "cmd").send_keys("echo Hello from the web page")
    browser.find_element(By.CSS_SELECTOR, "#run-form button").click()
    run = wait(browser, lambda d: d.find_element(By.ID, "output-run").text, what="the new run")
    assert installed.get("adhoc", run, namespace) is not None  # the same AdhocCommand kubectl sees

    text = wait(
        browser, lambda d: (r := run_row(d, run)) and "Succeeded" in r.text and r.text, what="the run to finish"
    )
    assert "echo Hello from the web page" in text and " 0 " in f" {text} "  # status and exit code
    wait(browser, lambda d: "Hello from the web page" in d.find_element(By.ID, "output").text, what="its output")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))

    # Delete it from the page (the table is drawn anew every 2 s: find the button afresh).
    wait(browser, lambda d: click_in_row(d, run, "Delete"), what="the Delete button")
    wait(browser, lambda d: run_row(d, run) is None, what="the run to go")


def test_a_token_in_the_fragment_asks_whose_it_is_before_logging_in(
    browser: WebDriver, rest_api: RestApi, installed: Cluster, namespace: str
):
    """A link with #token= never logs a visitor in silently (login CSRF): the page says whose
    token it is and who the visitor is now, and uses it only when told to."""
    browser.execute_script("window.sessionStorage.clear()")
    mine = token_for(installed, namespace, "visitor", "view")
    theirs = token_for(installed, namespace, "fragment-user", "view")
    browser.get(f"{rest_api.url}/ui/?namespace={namespace}#token={theirs}")
    offer = wait(browser, lambda d: "fragment-user" in d.find_element(By.ID, "offer-user").text, what="the offer")
    assert offer and theirs not in browser.current_url
    assert "not logged in" in browser.find_element(By.ID, "offer-current").text
    browser.find_element(By.ID, "offer-decline").click()
    wait(browser, lambda d: d.find_element(By.ID, "login").is_displayed(), what="the login box")
    assert browser.execute_script("return window.sessionStorage.getItem('orchestrator.token')") is None

    # Logged in as someone else, a link offers another identity: the page says both.
    browser.execute_script(f"window.sessionStorage.setItem('orchestrator.token', '{mine}')")
    browser.get(f"{rest_api.url}/ui/")  # a fragment alone would not load the page anew
    browser.get(f"{rest_api.url}/ui/?namespace={namespace}#token={theirs}")
    wait(browser, lambda d: "visitor" in d.find_element(By.ID, "offer-current").text, what="who the visitor is")
    browser.find_element(By.ID, "offer-accept").click()
    wait(browser, lambda d: d.find_element(By.ID, "app").is_displayed(), what="the runs")
    wait(browser, lambda d: "fragment-user" in d.find_element(By.ID, "user").text, what="the new identity shown")
    wait(browser, lambda d: d.find_element(By.ID, "empty").is_displayed(), what="an empty namespace")
    # A token the cluster refuses sends the user back to the login box, saying why.
    browser.execute_script("window.sessionStorage.setItem('orchestrator.token', 'not-a-token')")
    browser.refresh()
    wait(browser, lambda d: "did not accept" in d.find_element(By.ID, "login-error").text, what="the refusal")


def log_in(browser: WebDriver, rest_api: RestApi, namespace: str, token: str) -> None:
    # On the page first: a browser that has shown nothing yet has no sessionStorage (data: URL).
    browser.get(f"{rest_api.url}/ui/?namespace={namespace}")
    browser.execute_script("window.sessionStorage.clear()")
    browser.refresh()
    wait(browser, lambda d: d.find_element(By.ID, "login").is_displayed(), what="the login box")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait(browser, lambda d: d.find_element(By.ID, "app").is_displayed(), what="the runs")


def test_a_run_awaiting_approval_is_shown_and_approved_by_someone_who_may(
    browser: WebDriver, rest_api: RestApi, installed: Cluster, namespace: str, sim_output
):
    """The page shows what waits for approval and who asked; Approve and Reject are offered to
    holders of the verb approve who did not ask (the cluster checks it all the same)."""
    sim_output(namespace, b"migrated\n")
    installed.kubectl("label", "namespace", namespace, "orchestrator.dev/approval=required")
    requester = token_for(installed, namespace, "asker", "edit")
    approver = token_for(installed, namespace, "approver", "admin")
    created = httpx.post(
        f"{rest_api.url}/jobs",
        params={"namespace": namespace},
        json={"cmd": "./migrate"},
        headers={"Authorization": f"Bearer {requester}"},
    )
    assert created.status_code == 201, created.text
    run = created.json()["id"]

    log_in(browser, rest_api, namespace, requester)
    row = wait(browser, lambda d: (r := run_row(d, run)) and "Awaiting approval" in r.text and r, what="the wait")
    assert f"system:serviceaccount:{namespace}:asker" in row.text
    assert not row.find_elements(By.XPATH, ".//button[text()='Approve']")  # edit: not offered

    log_in(browser, rest_api, namespace, approver)
    wait(browser, lambda d: click_in_row(d, run, "Approve"), what="the Approve button")
    wait(browser, lambda d: (r := run_row(d, run)) and "Succeeded" in r.text, what="the approved run to finish")
    status = installed.must_get("adhoc", run, namespace)["status"]
    assert status["approvedBy"] == f"system:serviceaccount:{namespace}:approver"


def test_a_run_under_way_is_cancelled_from_the_page(
    browser: WebDriver, rest_api: RestApi, installed: Cluster, namespace: str, sim_output
):
    sim_output(namespace, b"working\n")
    installed.apply(adhoc("long-job", command="./long", podMetadata=sim(duration="600s")), namespace)
    log_in(browser, rest_api, namespace, token_for(installed, namespace, "canceller", "edit"))
    wait(browser, lambda d: (r := run_row(d, "long-job")) and "Running" in r.text, what="the run under way")
    wait(browser, lambda d: click_in_row(d, "long-job", "Cancel"), what="the Cancel button")
    row = wait(browser, lambda d: (r := run_row(d, "long-job")) and "Failed" in r.text and r, what="the run to end")
    assert not row.find_elements(By.XPATH, ".//button[text()='Cancel']")  # nothing left to cancel
    status = installed.must_get("adhoc", "long-job", namespace)["status"]
    assert status["reason"] == "Cancelled", status


def test_rerun_from_the_page_runs_the_same_adhoccommand_again(
    browser: WebDriver, rest_api: RestApi, installed: Cluster, namespace: str, sim_output
):
    """Rerun starts a new run of the AdhocCommand itself (its exec-form args and env kept), not
    a new shell command built from what the table shows; a run under way offers no Rerun."""
    sim_output(namespace, b"done\n")
    spec = {"args": ["backup", "--to", "s3://b/$(date)"], "env": [{"name": "LEVEL", "value": "debug"}]}
    installed.apply(adhoc("backup", **spec), namespace)
    log_in(browser, rest_api, namespace, token_for(installed, namespace, "rerunner", "edit"))
    wait(browser, lambda d: (r := run_row(d, "backup")) and "Succeeded" in r.text, what="the first run")
    wait(browser, lambda d: click_in_row(d, "backup", "Rerun"), what="the Rerun button")
    wait(browser, lambda d: d.find_element(By.ID, "output-run").text == "backup", what="its output pane")

    def second_run_done() -> bool:
        obj = installed.must_get("adhoc", "backup", namespace)
        status = obj.get("status") or {}
        return obj["metadata"]["generation"] == 2 == status.get("observedGeneration") and status["phase"] == "Succeeded"

    wait(browser, lambda d: second_run_done(), what="the second run to finish")
    assert [r["metadata"]["name"] for r in installed.list("adhoc", namespace)] == ["backup"]  # no new AdhocCommand
    [container] = installed.must_get("job", "backup-2", namespace)["spec"]["template"]["spec"]["containers"]
    assert container["command"] == spec["args"] and "args" not in container  # exec form, no shell
    assert {"name": "LEVEL", "value": "debug"} in container["env"]
