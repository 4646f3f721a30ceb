"""Headless QGIS for the tests: its environment, and one long-lived PyQGIS worker that opens GeoPackages.

QGIS runs as Debian packages it (``qgis``, ``python3-qgis``: QGIS 3.22, scripts/test-services.sh installs
them), headless, in the system's Python: PyQGIS is not in the venv and gridplan never imports it. The worker
runs qgis_layers.py beside this file (``--serve``), so QGIS starts once however many times a test module looks.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
LAYERS_SCRIPT = Path(__file__).resolve().with_name("qgis_layers.py")


def qgis_env(home: Path) -> dict[str, str]:
    """Headless QGIS whose profile, settings and runtime files stay in ``home``."""
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class QgisWorker:
    """One PyQGIS process in the system's Python, its profile in ``home``, answering :meth:`open` until
    :meth:`close` (or the end of a ``with`` block) ends it.

    Parameters
    ----------
    home : Path
        QGIS's home and settings; its standard error goes to ``home/qgis_layers.log``, quoted when it fails.
    timeout : float
        Seconds one answer may take before the worker is taken as hung and killed.
    """

    def __init__(self, home: Path, timeout: float = 300.0):
        self.timeout = timeout
        self._log = home / "qgis_layers.log"
        # a file, not a pipe: a pipe nobody reads would fill with QGIS's warnings and stall the worker
        with open(self._log, "w") as log:
            self._process = subprocess.Popen(
                [SYSTEM_PYTHON, str(LAYERS_SCRIPT), "--serve"],
                env=qgis_env(home),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def open(self, path: Path, layers, draw: Path | None = None) -> dict:
        """How QGIS sees each of the ``layers`` of the GeoPackage ``path`` (see qgis_layers.py), drawing
        ``grids`` to the PNG ``draw``."""
        request = {
            "path": str(path),
            "layers": list(layers),
            "draw": ["grids", str(draw)] if draw is not None else None,
        }
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            raise AssertionError(f"the QGIS worker has stopped: {self._stderr()}") from None
        # one line answers one request, so nothing is left buffered between them and select sees each answer
        if not select.select([self._process.stdout], [], [], self.timeout)[0]:
            self._process.kill()
            raise AssertionError(f"QGIS gave no answer in {self.timeout:.0f} s: {self._stderr()}")
        line = self._process.stdout.readline()
        assert line, f"the QGIS worker has stopped: {self._stderr()}"
        answer = json.loads(line)
        assert "error" not in answer, answer.get("error")
        return answer["layers"]

    def close(self) -> None:
        """End the worker: the end of its input stops it, and QGIS must exit cleanly; one that does not stop
        is killed."""
        self._process.stdin.close()
        try:
            code = self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        self._process.stdout.close()
        assert code == 0, f"the QGIS worker exited with {code}: {self._stderr()}"

    def _stderr(self) -> str:
        return self._log.read_text(errors="replace")[-3000:]

    def __enter__(self) -> QgisWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
