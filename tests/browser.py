"""Headless Chromium for the map tests and the benchmark, driven over the DevTools protocol.

Debian's ``chromium`` package (``apt-get install -y chromium``) at /usr/bin/chromium, or ``$CHROMIUM``. The
page's JavaScript errors (uncaught exceptions, ``console.error``, failed resource loads) and every URL it
requests are collected; the network can be switched off before the page loads, to prove that a map needs
nothing remote.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
]


class ChromiumMissing(RuntimeError):
    pass


def chromium_path() -> str:
    """The Chromium binary, or an error that says how to install it."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ChromiumMissing(
            "headless Chromium is required by the browser tests and was not found: "
            "install it with `apt-get install -y chromium` (Debian) or set $CHROMIUM to its path"
        )
    return found


class Browser:
    """One headless Chromium with one page, closed on exit.

    Examples
    --------
    >>> with Browser(offline=True) as page:          # doctest: +SKIP
    ...     seconds = page.open(Path("map.html"), until="document.querySelector('.leaflet-overlay-pane path')")
    ...     page.errors
    """

    def __init__(self, *, offline: bool = False, width: int = 1280, height: int = 900, timeout: float = 60.0):
        self.offline, self.timeout = offline, timeout
        self.errors: list[str] = []
        self.requests: list[str] = []  # every URL the page asked for, local or not
        self._profile = tempfile.TemporaryDirectory(prefix="gridplan-chromium-", ignore_cleanup_errors=True)
        self._process = subprocess.Popen(
            [chromium_path(), *FLAGS, f"--user-data-dir={self._profile.name}", f"--window-size={width},{height}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._next_id = 0
        try:
            self._socket = websocket.create_connection(self._page_socket(), timeout=timeout, suppress_origin=True)
            for domain in ("Runtime", "Log", "Page", "Network"):
                self.send(f"{domain}.enable")
            if offline:
                self.send("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1,
                          uploadThroughput=-1)
        except Exception:
            self.close()
            raise

    def _page_socket(self) -> str:
        port = None
        deadline = time.monotonic() + self.timeout
        while port is None and time.monotonic() < deadline:
            line = self._process.stderr.readline()
            if not line and self._process.poll() is not None:
                raise RuntimeError(f"Chromium exited with code {self._process.returncode}")
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            port = match and match.group(1)
        if port is None:
            raise TimeoutError("Chromium did not open its DevTools port")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout))
        return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")

    def send(self, method: str, **params):
        """Call a DevTools method and return its result, noting the events that arrive meanwhile."""
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._note(message)

    def _note(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}".strip())

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def open(self, path: Path, until: str = "document.readyState === 'complete'") -> float:
        """Load a local HTML file; seconds until ``until`` (a JavaScript expression) is true."""
        start = time.perf_counter()
        self.send("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait(until)
        return time.perf_counter() - start

    def wait(self, condition: str, poll: float = 0.02) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.evaluate(f"!!({condition})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"page never reached: {condition}")
            time.sleep(poll)

    def click(self, x: float, y: float) -> None:
        """A real mouse click at page coordinates (CSS pixels)."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def settle(self, seconds: float = 0.2) -> None:
        """Let pending events arrive (errors logged after load)."""
        self.evaluate(f"new Promise(r => setTimeout(r, {seconds * 1000:.0f}))")

    def close(self) -> None:
        if getattr(self, "_socket", None) is not None:
            self._socket.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._profile.cleanup()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
