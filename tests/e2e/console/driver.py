"""Drives Debian's Chromium for the console's tests, from a plain Python process.

The tests themselves run under eventlet's monkey patching (nameko needs it), where Playwright's
sync driver was seen to hang (stopping it, closing a context, a second browser in one process).
So the browser lives here instead, in a process that patches nothing: the test starts
`python -m tests.e2e.console.driver BASE_URL`, writes one JSON command a line on its stdin and
reads one JSON answer a line on its stdout (`{"ok": true, "value": ...}` or
`{"ok": false, "error": "..."}`). Between two commands the test may act on the platform (stop a
consumer, report an incident); a command that waits (`wait`) waits in the page, with its own
timeout. The process ends at `quit`, at the end of its input, or after `--max-seconds` whatever
happens, so a hang fails one test rather than blocking a run.

Commands (`page` names a browser page; each login or `open` makes a new context, cookies apart):
    login    page, username, password           the console's login form; answers the URL reached
    open     page, path                         a new page, not logged in
    goto     page, path                         answers {"url", "status"}
    click    page, selector                     and waits for the page it leads to, if any
    fill     page, selector, value
    text     page, selector                     inner text of the first match, or null
    texts    page, selector                     inner texts of every match
    attrs    page, selector, name               an attribute of every match
    count    page, selector
    url      page
    wait     page, script, arg?, timeout_s?     until the JS function `script(arg)` is truthy
    wait_for page, selector, timeout_s?         until a match is visible
    screenshot page, name                       docs-style PNG when CONSOLE_SCREENSHOTS names a folder
    quit
"""

import argparse
import json
import os
import shutil
import sys
import threading
import traceback

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]


class Session:
    def __init__(self, browser, base_url, screenshots, timeout_ms):
        self.browser = browser
        self.base_url = base_url.rstrip("/")
        self.screenshots = screenshots
        self.timeout_ms = timeout_ms
        self.pages = {}

    def _new(self, name, width=1200, height=900):
        context = self.browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(self.timeout_ms)
        self.pages[name] = page
        return page

    def _page(self, name):
        if name not in self.pages:
            raise KeyError(f"no page named {name!r}: log in or open one first")
        return self.pages[name]

    # ------------------------------------------------------------ commands

    def login(self, page, username, password, path="/console/login", width=1200):
        p = self._new(page, width=width)
        p.goto(self.base_url + path)
        p.fill("input[name=username]", username)
        p.fill("input[name=password]", password)
        with p.expect_navigation():
            p.click("#login")
        return p.url

    def open(self, page, path, width=1200):
        p = self._new(page, width=width)
        p.goto(self.base_url + path)
        return p.url

    def goto(self, page, path):
        response = self._page(page).goto(self.base_url + path)
        return {"url": self._page(page).url, "status": response.status if response else None}

    def click(self, page, selector, navigates=True):
        p = self._page(page)
        if navigates:
            with p.expect_navigation():
                p.click(selector)
        else:
            p.click(selector)
        return p.url

    def fill(self, page, selector, value):
        self._page(page).fill(selector, str(value))

    def text(self, page, selector):
        found = self._page(page).query_selector(selector)
        return found.inner_text() if found else None

    def texts(self, page, selector):
        return self._page(page).locator(selector).all_inner_texts()

    def attrs(self, page, selector, name):
        return [e.get_attribute(name) for e in self._page(page).query_selector_all(selector)]

    def count(self, page, selector):
        return self._page(page).locator(selector).count()

    def url(self, page):
        return self._page(page).url

    def wait(self, page, script, arg=None, timeout_s=None):
        self._page(page).wait_for_function(script, arg=arg, polling=250,
                                           timeout=timeout_s * 1000 if timeout_s else self.timeout_ms)
        return True

    def wait_for(self, page, selector, timeout_s=None):
        self._page(page).wait_for_selector(selector,
                                           timeout=timeout_s * 1000 if timeout_s else self.timeout_ms)
        return True

    def screenshot(self, page, name):
        if not self.screenshots:
            return None
        os.makedirs(self.screenshots, exist_ok=True)
        path = os.path.join(self.screenshots, f"{name}.png")
        self._page(page).screenshot(path=path, full_page=True)
        return path


# A page that refreshes itself (the dividend run while it is paid) may start a navigation of its
# own under a command: reading or going somewhere is then simply done again.
RETRIED = ("goto", "text", "texts", "attrs", "count")
NAVIGATION_RACES = ("interrupted by another navigation", "ERR_ABORTED", "Execution context was destroyed")


def run(session, op, command, attempts=3):
    for attempt in range(attempts):
        try:
            return getattr(session, op)(**command)
        except Exception as exc:
            raced = any(race in str(exc) for race in NAVIGATION_RACES)
            if op not in RETRIED or attempt == attempts - 1 or not raced:
                raise


def serve(session, lines, answer):
    for line in lines:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command.pop("op")
        if op == "quit":
            answer({"ok": True, "value": None})
            return
        try:
            answer({"ok": True, "value": run(session, op, command)})
        except Exception as exc:  # the test sees what failed, and may go on (e.g. a refusal it expects)
            answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000],
                    "trace": traceback.format_exc(limit=3)[-2000:]})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--max-seconds", type=float, default=240)
    parser.add_argument("--timeout-seconds", type=float, default=20, help="each command's own timeout")
    args = parser.parse_args(argv)

    # Whatever happens (a wedged browser included), the process is gone by then.
    watchdog = threading.Timer(args.max_seconds, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()

    out = sys.stdout
    sys.stdout = sys.stderr  # only answers on the real stdout

    def answer(message):
        out.write(json.dumps(message, ensure_ascii=False, default=str) + "\n")
        out.flush()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            answer({"ok": True, "value": "ready"})
            serve(Session(browser, args.base_url, os.environ.get("CONSOLE_SCREENSHOTS"),
                          args.timeout_seconds * 1000), sys.stdin, answer)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
