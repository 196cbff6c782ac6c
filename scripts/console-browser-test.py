#!/usr/bin/env python3
"""Drives the web console in a real browser (Debian's chromium and
chromium-driver, through selenium) against a running `regevents serve`.

Started by the Swift test ConsoleBrowserTests with the server's URL, its admin
token and a receiver the test runs (/ok… answers 200, /fail… 500). Each step
is photographed at 1280x800 and at 390x844 into --out. Exits non-zero, naming
the step, on the first thing that is not as it should be.
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

parser = argparse.ArgumentParser()
parser.add_argument("--base", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--receiver", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)

options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800"):
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
step_number = 0


def fail(message):
    shoot("failure")
    print(f"console-browser-test: {message}", file=sys.stderr)
    print(f"console-browser-test: page was {driver.current_url}:\n{driver.find_element(By.TAG_NAME, 'body').text[:2000]}", file=sys.stderr)
    driver.quit()
    sys.exit(1)


def emulate(width, height):
    """A viewport of this size (headless chromium's windows are at least 500 px wide)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def shoot(name):
    """Screenshots of the page at both widths."""
    global step_number
    step_number += 1
    for width, height in ((1280, 800), (390, 844)):
        emulate(width, height)
        driver.save_screenshot(os.path.join(args.out, f"{step_number:02d}-{name}-{width}.png"))
    # At 390 px nothing may scroll the page sideways (tables scroll inside their box).
    emulate(390, 844)
    overflow = driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth")
    if overflow and name != "failure":
        widest = driver.execute_script(
            "let w=null;for(const e of document.querySelectorAll('body *')){const r=e.getBoundingClientRect();"
            "if(r.right>document.documentElement.clientWidth+1&&!(e.parentElement&&e.parentElement.closest('.scroll'))&&(!w||r.right>w.r))w={r:r.right,t:e.outerHTML.slice(0,120)}}"
            "return w&&w.t")
        fail(f"{name}: the page scrolls sideways at 390 px ({widest})")
    emulate(1280, 800)
    if name != "failure":
        check_contrast(name)


# WCAG 2.1 AA contrast, measured on the rendered page: every visible text
# against the background it is drawn on (the first opaque one among its
# ancestors): 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).
CONTRAST_SCRIPT = """
function rgb(text){const m=text.match(/rgba?\\(([^)]+)\\)/);if(!m)return null;const p=m[1].split(',').map(Number);return {r:p[0],g:p[1],b:p[2],a:p.length>3?p[3]:1}}
function lum(c){const f=v=>{v/=255;return v<=0.03928?v/12.92:Math.pow((v+0.055)/1.055,2.4)};return 0.2126*f(c.r)+0.7152*f(c.g)+0.0722*f(c.b)}
function background(e){for(;e;e=e.parentElement){const c=rgb(getComputedStyle(e).backgroundColor);if(c&&c.a>=1)return c}return {r:255,g:255,b:255,a:1}}
const failures=[];
for(const e of document.querySelectorAll('body *')){
  if(![...e.childNodes].some(n=>n.nodeType===3&&n.textContent.trim()))continue;
  const r=e.getBoundingClientRect();if(r.width===0||r.height===0)continue;
  const s=getComputedStyle(e);if(s.visibility==='hidden'||s.display==='none')continue;
  const fg=rgb(s.color),bg=background(e);if(!fg)continue;
  const a=lum(fg),b=lum(bg),ratio=(Math.max(a,b)+0.05)/(Math.min(a,b)+0.05);
  const size=parseFloat(s.fontSize),bold=parseInt(s.fontWeight)>=700;
  const needed=(size>=24||(bold&&size>=18.66))?3:4.5;
  if(ratio<needed)failures.push(e.tagName+' "'+e.textContent.trim().slice(0,40)+'" '+ratio.toFixed(2)+' < '+needed);
}
return failures;
"""


def check_contrast(name):
    failures = driver.execute_script(CONTRAST_SCRIPT)
    if failures:
        fail(f"{name}: text below WCAG AA contrast: {failures[:5]}")


def wait_for(description, condition, limit=30, reload=True):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            if condition():
                return
        except WebDriverException:
            pass  # the page changed under the look (a navigation): look again
        time.sleep(0.5)
        if reload:
            driver.refresh()
    fail(f"timed out waiting for {description}")


def text():
    return driver.find_element(By.TAG_NAME, "body").text


def api(method, path, body=None):
    request = urllib.request.Request(
        args.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def push(event_id, repository="console"):
    api("POST", "/v1/registries/myregistry/events",
        {"id": event_id, "action": "push", "target": {"repository": repository, "tag": "v1",
         "digest": "sha256:" + "a" * 64}})


def fill_create_form(name, uri):
    driver.get(args.base + "/console/registries?open=myregistry")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "serviceUri").send_keys(uri)
    driver.find_element(By.ID, "customHeaders").send_keys("Authorization: Bearer receiver-secret")
    driver.find_element(By.ID, "scope").send_keys("console:*")


# 1. Sign in.
driver.get(args.base + "/console")
if "/console/login" not in driver.current_url:
    fail("an anonymous visit did not go to the sign-in page")
shoot("sign-in")
driver.find_element(By.ID, "token").send_keys("not-the-token")
driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
wait_for("a wrong token to be refused", lambda: "not the admin token" in text(), limit=10, reload=False)
driver.find_element(By.ID, "token").send_keys(args.token)
driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
wait_for("signing in to open the registries", lambda: "/console/registries" in driver.current_url, limit=10, reload=False)
cookie = driver.get_cookie("regevents_console")
if not cookie or not cookie.get("httpOnly") or cookie.get("sameSite") != "Strict":
    fail(f"the session cookie is not HttpOnly and SameSite=Strict: {cookie}")
shoot("registries")

# 2. Create a webhook through the form; a bad one first, to see the message.
fill_create_form("bad", args.receiver + "/ok-bad")
driver.find_element(By.CSS_SELECTOR, "form[action$='/webhooks'] button[type=submit]").click()
wait_for("the invalid webhook's message", lambda: driver.find_elements(By.CSS_SELECTOR, "[role=alert]"), limit=10, reload=False)
shoot("create-refused")
fill_create_form("consolehook1", args.receiver + "/ok-console")
shoot("create-form")
driver.find_element(By.CSS_SELECTOR, "form[action$='/webhooks'] button[type=submit]").click()
wait_for("the form to say the webhook was created", lambda: "Webhook created" in text(), limit=10, reload=False)
shoot("webhook-created")

# 3. Ping, and see 200 in the events table.
driver.find_element(By.XPATH, "//button[normalize-space()='Ping']").click()
wait_for("the ping's 200 in the events table", lambda: "200" in " ".join(
    cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "td strong")))
shoot("ping-200")

# 4. A real event, and see it.
push("console-event-1")
wait_for("the pushed event in the events table", lambda: "console-event-1" in text())
shoot("pushed-event")
if "receiver-secret" in driver.page_source:
    fail("a custom header's value is shown")

# 5. An endpoint that fails until its delivery dead-letters, redriven from the console.
fill_create_form("failhook1", args.receiver + "/fail-console")
driver.find_element(By.CSS_SELECTOR, "form[action$='/webhooks'] button[type=submit]").click()
wait_for("failhook1 to be created", lambda: "Webhook created" in text(), limit=10, reload=False)
push("console-doomed-1")
driver.get(args.base + "/console/deadletters?target=failhook1")
wait_for("the dead letter", lambda: "console-doomed-1" in text(), limit=60)
shoot("dead-letter")
# The endpoint is fixed through the console's edit form.
driver.get(args.base + "/console/registries/myregistry/webhooks/failhook1")
driver.find_element(By.ID, "edit-serviceUri").send_keys(args.receiver + "/ok-redriven")
driver.find_element(By.CSS_SELECTOR, "form[action$='/edit'] button[type=submit]").click()
wait_for("the edit to be saved", lambda: "Webhook updated" in text(), limit=10, reload=False)
shoot("edited")
driver.get(args.base + "/console/deadletters?target=failhook1")
driver.find_element(By.CSS_SELECTOR, "input[name=ids]").click()
driver.find_element(By.XPATH, "//button[normalize-space()='Redrive selected']").click()
wait_for("the redrive to say redriven", lambda: "redriven" in text(), limit=10, reload=False)
shoot("redriven")
driver.get(args.base + "/console/registries/myregistry/webhooks/failhook1")
wait_for("the redriven delivery's 200", lambda: any(
    "console-doomed-1" in row.text and "200" in row.text for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr")))
shoot("redriven-delivered")
headers = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "thead th")]
if "Latency" not in headers or not any(cell.text.endswith(" ms") for cell in driver.find_elements(By.CSS_SELECTOR, "tbody td")):
    fail(f"the events table has no latency: {headers}")

# 5b. Operational events: the dead letter is said on the Operations page and on the webhook's page.
driver.get(args.base + "/console/operations?type=DeadLettered")
wait_for("the DeadLettered operational event", lambda: "/registries/myregistry/webhooks/failhook1" in text())
shoot("operations")
driver.get(args.base + "/console/registries/myregistry/webhooks/failhook1")
if "DeadLettered" not in text():
    fail("the webhook's page does not list its operational events")

# 5c. Replay the last hour to consolehook1: console-event-1 arrives once more.
driver.get(args.base + "/console/registries/myregistry/webhooks/consolehook1")
delivered_before = sum("console-event-1" in row.text for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr"))
driver.find_element(By.CSS_SELECTOR, "form[action$='/replay'] button[type=submit]").click()
wait_for("the replay's outcome", lambda: "events scheduled" in text(), limit=30, reload=False)
shoot("replayed")
driver.get(args.base + "/console/registries/myregistry/webhooks/consolehook1")
wait_for("the replayed event delivered again", lambda: sum(
    "console-event-1" in row.text for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr")) > delivered_before)

# 5d. A subscription edited through the console: its filter changes, validated again.
api("PUT", "/v1/registries/myregistry/eventSubscriptions/consolesub1", {"properties": {
    "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": args.receiver + "/ok-consolesub"}}}})
driver.get(args.base + "/console/registries/myregistry/subscriptions/consolesub1")
driver.find_element(By.ID, "edit-begins").send_keys("console")
driver.find_element(By.ID, "edit-attempts").clear()
driver.find_element(By.ID, "edit-attempts").send_keys("5")
driver.find_element(By.CSS_SELECTOR, "form[action$='/edit'] button[type=submit]").click()
wait_for("the subscription edit to be saved", lambda: "Subscription updated" in text(), limit=10, reload=False)
shoot("subscription-edited")
edited = api("GET", "/v1/registries/myregistry/eventSubscriptions/consolesub1")["properties"]
if edited["filter"].get("subjectBeginsWith") != "console" or edited["retryPolicy"]["maxDeliveryAttempts"] != 5:
    fail(f"the subscription edit did not reach the API: {edited}")

# 6. The Kafka page: the .acr topic's records move when events come.
driver.get(args.base + "/console/kafka")


def acr_records():
    for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        if cells and cells[0].text == "registry-events.acr":
            return int(cells[2].text)
    return None


before = acr_records()
if before is None:
    fail("the Kafka page has no registry-events.acr row")
shoot("kafka")
for number in range(5):
    push(f"console-lag-{number}")
wait_for("the .acr records to move", lambda: (acr_records() or 0) >= before + 5, limit=30)
shoot("kafka-moved")

# 7. Custom topics: the keys show only when asked.
api("PUT", "/v1/topics/console-orders", {})
driver.get(args.base + "/console/topics")
if "console-orders" not in text() or "key1" in text():
    fail("the custom topics page does not list the topic, or shows its keys unasked")
driver.find_element(By.XPATH, "//button[normalize-space()='Show keys']").click()
wait_for("the topic's keys", lambda: "key1" in text(), limit=10, reload=False)
shoot("topic-keys")

# 8. A forged form post (the session cookie, no CSRF token) changes nothing.
session = driver.get_cookie("regevents_console")["value"]
forged = urllib.request.Request(
    args.base + "/console/registries/myregistry/webhooks/consolehook1/delete", method="POST",
    data=b"", headers={"Cookie": f"regevents_console={session}", "Content-Type": "application/x-www-form-urlencoded"})
try:
    urllib.request.urlopen(forged, timeout=10)
    fail("a form post without its CSRF token was accepted")
except urllib.error.HTTPError as error:
    if error.code != 403:
        fail(f"a form post without its CSRF token got {error.code}, not 403")
if api("GET", "/v1/registries/myregistry/webhooks/consolehook1")["name"] != "consolehook1":
    fail("the forged post deleted the webhook")

# 9. Keyboard: the skip link is the first stop, and sign-out works.
driver.get(args.base + "/console/registries")
driver.find_element(By.TAG_NAME, "body").send_keys("\t")
if driver.switch_to.active_element.text != "Skip to content":
    fail("the first Tab stop is not the skip link")
# Every Tab stop of a webhook's page shows where the focus is (WCAG 2.4.7).
driver.get(args.base + "/console/registries/myregistry/webhooks/consolehook1")
body = driver.find_element(By.TAG_NAME, "body")
for stop in range(25):
    body.send_keys("\t") if stop == 0 else driver.switch_to.active_element.send_keys("\t")
    focused = driver.switch_to.active_element
    outline = driver.execute_script(
        "const s=getComputedStyle(arguments[0]);return [s.outlineStyle, parseFloat(s.outlineWidth)]", focused)
    if outline[0] == "none" or outline[1] < 2:
        fail(f"Tab stop {stop + 1} ({focused.tag_name} {focused.text[:30]!r}) shows no focus ring: {outline}")
driver.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
wait_for("signing out", lambda: "/console/login" in driver.current_url, limit=10, reload=False)
driver.get(args.base + "/console/registries")
if "/console/login" not in driver.current_url:
    fail("after signing out the console still opened")
shoot("signed-out")
driver.quit()
print(f"console-browser-test: every step passed; screenshots in {args.out}")
