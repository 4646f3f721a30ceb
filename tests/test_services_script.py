"""scripts/test-services.sh on a machine that lacks what the tests need: one message naming every package,
then exit 1 (so that `make test` stops there rather than in a pile of test errors)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "test-services.sh"
#: The commands the script runs before it looks for Chromium: everything else is left off its PATH.
TOOLS = ("bash", "id", "ls", "sort", "tail", "awk", "head", "od", "tr")


def test_a_missing_browser_without_root_stops_with_one_message_naming_the_packages():
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.fail("this test runs as root (as CI does), to drop to an unprivileged user")
    with tempfile.TemporaryDirectory() as folder:  # a folder the unprivileged user can enter
        root = Path(folder)
        root.chmod(0o755)
        (root / "bin").mkdir()
        for tool in TOOLS:
            (root / "bin" / tool).symlink_to(shutil.which(tool))
        script = root / "test-services.sh"
        shutil.copy(SCRIPT, script)
        result = subprocess.run(
            [shutil.which("runuser"), "-u", "nobody", "--", str(root / "bin" / "bash"), str(script)],
            env={"PATH": str(root / "bin")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stdout == ""  # nothing for `eval` to run
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "scripts/test-services.sh: headless Chromium is missing and cannot be installed here (not root)."
    assert "apt-get install --no-install-recommends chromium fonts-wqy-zenhei" in lines[1]


def test_the_packages_the_script_names_hold_the_postgis_extension():
    """Checked by what the packages install (dpkg -L), not by a green run on a machine that may have had them."""
    text = SCRIPT.read_text()
    named = text.split('POSTGIS_PACKAGES="', 1)[1].split('"', 1)[0].split()
    version = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: tuple(map(int, v.split("."))))[-1]
    files = set()
    for package in named:
        listed = subprocess.run(
            ["dpkg", "-L", package.replace("${PG_VERSION}", version)], capture_output=True, text=True
        )
        assert listed.returncode == 0, f"{package} is not installed: {listed.stderr.strip()}"
        files |= set(listed.stdout.split())
    assert f"/usr/lib/postgresql/{version}/lib/postgis-3.so" in files
    assert f"/usr/share/postgresql/{version}/extension/postgis-3.control" in files
