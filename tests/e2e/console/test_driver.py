"""The browser driver's own promise: a browser that stops answering fails the test in bounded
time and is killed, rather than blocking the run."""

import pytest

from tests.e2e.console.conftest import Browser, BrowserFailed


def test_a_browser_that_does_not_answer_in_time_fails_the_test_and_is_killed(tmp_path):
    browser = Browser("data:text/html;charset=utf-8,", tmp_path / "browser.log")
    try:
        page = browser.open("page", "<h1 id=greeting>你好</h1>")
        assert page.text("#greeting") == "你好"
        with pytest.raises(BrowserFailed, match="did not answer in 2 s"):
            browser.call("wait", timeout=2, page="page", script="() => false", timeout_s=120)
        assert browser.process.poll() is not None  # gone, with its Chromium
    finally:
        browser.stop()
