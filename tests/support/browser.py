"""Headless Chromium for the map tests and the benchmark, driven by Playwright.

Debian's ``chromium`` package (``apt-get install -y chromium``) at /usr/bin/chromium, or ``$CHROMIUM``: Playwright
launches that binary (``executable_path``) and downloads no browser of its own. One :class:`Chromium` is one
browser process; each of its :meth:`Chromium.page` is a fresh browser context with one page, which collects the
page's JavaScript errors (uncaught exceptions, ``console.error`` and Chromium's own console errors about failed
loads), every URL it requests and every request that failed. The network can be switched off before the page
loads, to prove that a map needs nothing remote.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Self

from playwright.sync_api import Browser, ConsoleMessage, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

#: Added to Playwright's own switches (which already turn off background networking, component updates, the
#: first-run screens and /dev/shm, and add --headless and --no-sandbox): no GPU on test machines, and no QUIC,
#: sync or stray connections that could show up as requests.
FLAGS = ["--disable-gpu", "--disable-quic", "--disable-sync"]

#: The folium map object of the page (folium names it ``map_<hex id>``).
MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"
#: How many grids and other interactive paths Leaflet has drawn.
GRID_PATHS = "document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length"


class ChromiumMissing(RuntimeError):
    """Chromium is not installed and ``$CHROMIUM`` is not set."""


def chromium_path() -> str:
    """The Chromium binary, or an error that says how to install it."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ChromiumMissing(
            "headless Chromium is required by the browser tests and was not found: "
            "install it with `apt-get install -y chromium` (Debian) or set $CHROMIUM to its path"
        )
    return found


class Chromium:
    """One headless Chromium process, closed on exit; it hands out fresh pages.

    Parameters
    ----------
    executable : str, optional
        The Chromium binary; by default :func:`chromium_path`.

    Examples
    --------
    >>> with Chromium() as chromium, chromium.page(offline=True) as page:        # doctest: +SKIP
    ...     seconds = page.open(Path("map.html"), until=f"{GRID_PATHS} > 0")
    ...     page.errors
    """

    def __init__(self, executable: str | None = None):
        executable = executable or chromium_path()  # before Playwright starts: a missing browser fails plainly
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        except BaseException:
            self._playwright.stop()
            raise

    def page(self, *, offline: bool = False, width: int = 1280, height: int = 900, timeout: float = 60.0) -> Page:
        """A new page in a browser context of its own: nothing (cookies, storage, errors, requests) is shared
        with earlier pages.

        Parameters
        ----------
        offline : bool
            Switch the network off before the page exists; ``file:`` and ``data:`` URLs still load.
        width, height : int
            The viewport in CSS pixels.
        timeout : float
            Seconds that :meth:`Page.open`, :meth:`Page.wait` and the page's other actions may take.
        """
        return Page(self._browser, offline=offline, width=width, height=height, timeout=timeout)

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._playwright.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Page:
    """One page of a :class:`Chromium`, in its own browser context; closing it closes the context.

    Attributes
    ----------
    errors : list of str
        Uncaught exceptions, with their stack, and console errors, each followed by the URL it came from:
        ``console.error`` calls and Chromium's own ``Failed to load resource: …`` (a cancelled load is not one).
    requests : list of str
        Every URL that the page (or a popup or worker of its context) asked for, local or not, in order.
        Playwright reports no request for ``data:`` URLs, which never reach the network.
    failed : list of tuple of (str, str)
        The URL and Chromium's reason (``net::ERR_INTERNET_DISCONNECTED``, ``net::ERR_ABORTED`` …) of every
        request that failed.
    """

    def __init__(self, browser: Browser, *, offline: bool, width: int, height: int, timeout: float):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self._timeout = timeout
        self.failed: list[tuple[str, str]] = []
        # the context is made offline, so no request of the page can ever reach the network
        self._context = browser.new_context(offline=offline, viewport={"width": width, "height": height})
        try:
            self._context.set_default_timeout(timeout * 1000)
            # the context's network events cover popups and workers as well as the page
            self._context.on("request", lambda request: self.requests.append(request.url))
            self._context.on("requestfailed", lambda request: self.failed.append((request.url, request.failure or "")))
            self._page = self._context.new_page()
            self._page.on(
                "pageerror", lambda error: self.errors.append(error.stack or f"{error.name}: {error.message}")
            )
            self._page.on("console", self._console)
        except BaseException:
            self._context.close()
            raise

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} {message.location.get('url', '')}".strip())

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page, a promise's once it resolves."""
        return self._page.evaluate(expression)

    def open(self, path: Path, until: str = "document.readyState === 'complete'") -> float:
        """Load a local HTML file; seconds until ``until`` (a JavaScript expression) is true."""
        start = time.perf_counter()
        # from the moment the document arrives, so that ``until`` alone says when the page is ready
        self._page.goto(Path(path).resolve().as_uri(), wait_until="commit")
        self.wait(until)
        return time.perf_counter() - start

    def visit(self, url: str, until: str = "document.readyState === 'complete'") -> float:
        """Load a page served over HTTP (a local server's); seconds until ``until`` is true. Such a page may have a
        Content Security Policy that forbids evaluating strings, so :meth:`wait` then asks from here."""
        start = time.perf_counter()
        self._strict = True
        self._page.goto(url, wait_until="commit")
        self.wait(until)
        return time.perf_counter() - start

    def drag(self, points: list[tuple[float, float]], holding: str | None = None) -> None:
        """Press the mouse at the first point, move through the others in steps, release at the last; with the key
        ``holding`` (``"Control"``…) held throughout."""
        mouse, keyboard = self._page.mouse, self._page.keyboard
        if holding:
            keyboard.down(holding)
        mouse.move(*points[0])
        mouse.down()
        for point in points[1:]:
            mouse.move(*point, steps=8)
        mouse.up()
        if holding:
            keyboard.up(holding)

    def press(self, selector: str) -> None:
        """A real mouse click on the element ``selector`` names (scrolled into view, visible and enabled first)."""
        self._page.click(selector)

    def text(self, selector: str) -> str:
        """The text of the element ``selector`` names."""
        return self._page.inner_text(selector)

    def wait(self, condition: str, poll: float = 0.02) -> None:
        """Wait until the JavaScript expression ``condition`` is true, or raise :class:`TimeoutError`."""
        if getattr(self, "_strict", False):  # evaluated through the debugging protocol, which no policy stops
            end = time.perf_counter() + self._timeout
            while not self._page.evaluate(f"!!({condition})"):
                if time.perf_counter() > end:
                    raise TimeoutError(f"page never reached: {condition}")
                time.sleep(poll)
            return
        try:
            self._page.wait_for_function(f"!!({condition})", polling=poll * 1000)
        except PlaywrightTimeout as exc:
            raise TimeoutError(f"page never reached: {condition}") from exc

    def click(self, x: float, y: float) -> None:
        """A real mouse click (move, press, release) at page coordinates in CSS pixels."""
        self._page.mouse.click(x, y)

    def screenshot(self, path: Path) -> Path:
        """A PNG of the viewport."""
        self._page.screenshot(path=path)
        return Path(path)

    def settle(self, seconds: float = 0.2) -> None:
        """Let pending events arrive (errors logged after load): ``seconds`` on a timer in the page, queued
        behind what the page had already scheduled."""
        self.evaluate(f"new Promise(r => setTimeout(r, {seconds * 1000:.0f}))")

    def close(self) -> None:
        self._context.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
