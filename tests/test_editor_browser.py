"""The editor as a planner uses it: ``gridplan edit`` started as a user starts it, driven in Debian's headless Chromium
with real mouse clicks on the real Beijing extract; the server killed mid-edit and started again; the saved plan
regenerated with ``gridplan plan --previous``."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gridplan.core.results import PreviousPlan
from gridplan.editor.session import EditRefused, EditSession
from gridplan.io.store import read_plan, write_plan

from .support.cli import run

BIN = Path(sys.executable).parent
#: The page has drawn the units and read the state.
READY = "document.body && document.body.dataset.ready === '1'"


class Editor:
    """``gridplan edit`` in a process of its own; its address read from what it prints."""

    def __init__(self, *argv):
        self.process = subprocess.Popen(
            [str(BIN / "gridplan"), "edit", *map(str, argv), "--no-browser", "--lang", "en", "--author", "tester"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        self.printed = []
        while True:
            line = lines.get(timeout=180)
            self.printed.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+/)(\?token=(\S+))?", line)
            if found:
                self.url, self.address, self.token = found.group(1), found.group(0), found.group(3)
                return

    def api(self, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} | ({"X-Gridplan-Token": self.token} if self.token else {})
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def legal_moves(session: EditSession, n: int) -> list[tuple[int, str, float]]:
    """``n`` moves of one unit to a neighbouring grid that the rules allow, each on a grid of its own, with the
    target's households after it (found on an in-process session of the same plan, each undone)."""
    found, used = [], set()
    grids = session.atom_grids()
    for a, b in session.graph.edges():
        for unit, target in ((a, grids[b]), (b, grids[a])):
            source = grids[unit]
            if source == target or {source, target} & used or session.atom_households[unit] == 0:
                continue
            try:
                result = session.move(target, units=[unit])
            except EditRefused:
                continue
            found.append((unit, target, next(f.households for f in result.touched if f.grid_id == target)))
            used |= {source, target}
            session.undo()
            if len(found) == n:
                return found
    raise AssertionError("no legal moves found")


def click_unit(page, unit: int) -> None:
    """Zoom to the unit, then click it with the mouse."""
    page.evaluate(
        f"new Promise(r => {{ const m = gridplanEditor.map; m.once('moveend', () => setTimeout(r, 50)); "
        f"m.fitBounds(gridplanEditor.unitLayers[{unit}].getBounds(), {{maxZoom: 19, animate: false}}); }})"
    )
    point = page.evaluate(f"(p => [p.x, p.y])(gridplanEditor.unitPoint({unit}))")
    page.click(*point)


def test_a_planner_edits_in_the_browser_is_refused_locks_undoes_saves_survives_a_kill_and_regenerates(
    extracts, chromium, tmp_path, capsys, artifacts
):
    prepared = extracts.prepared("beijing")
    plan_file = tmp_path / "plan.gpkg"
    write_plan(extracts.run("beijing"), prepared, plan_file)
    scene = extracts.path("beijing")
    session = EditSession(prepared, PreviousPlan.of(extracts.run("beijing").plan))
    moves = legal_moves(session, 3)
    editor = Editor(scene, plan_file)
    try:
        with chromium.page(offline=False) as page:
            page.visit(editor.url, until=READY)
            assert page.evaluate("gridplanEditor.unitLayers.length") == len(session.start)
            # move a unit by clicking it, then its neighbouring grid's button: the counts change at once
            unit, target, households = moves[0]
            click_unit(page, unit)
            page.wait("!document.getElementById('grid-card').hidden")
            page.press(f"#neighbours button[data-grid='{target}']")
            page.wait("document.getElementById('message').className === 'done'")
            page.wait(f"document.getElementById('grid-name').textContent.includes('{target}')")
            assert float(page.text("#grid-households")) == pytest.approx(households, abs=0.5)
            assert editor.api("api/state")["unit_grid"][unit] == target
            page.screenshot(artifacts / "editor-after-a-move.png")
            # the brush: Ctrl-drag from one unit to its neighbour of the same grid selects both
            grids = session.atom_grids()
            a, b = next((a, b) for a, b in session.graph.edges() if grids[a] == grids[b])
            page.evaluate(
                f"new Promise(r => {{ const m = gridplanEditor.map, l = gridplanEditor.unitLayers; "
                f"m.once('moveend', () => setTimeout(r, 50)); "
                f"m.fitBounds(l[{a}].getBounds().extend(l[{b}].getBounds()), {{maxZoom: 19, animate: false}}); }})"
            )
            ends = [page.evaluate(f"(p => [p.x, p.y])(gridplanEditor.unitPoint({u}))") for u in (a, b)]
            page.drag([tuple(p) for p in ends], holding="Control")
            page.wait("gridplanEditor.selection.length >= 2")
            assert {a, b} <= set(page.evaluate("gridplanEditor.selection"))
            page.wait("document.getElementById('selection').textContent.includes('units selected')")
            # lock the grid, then be refused a move into it, with the reason on the map
            page.press("#lock")
            page.wait("document.getElementById('lock').textContent === 'Unlock'")
            unit2, target2, _ = moves[1]
            editor.api("api/lock", {"grid": target2, "locked": True})
            page.wait(f"gridplanEditor.seq === {editor.api('api/state')['seq']}")
            click_unit(page, unit2)
            page.wait(f"document.querySelector(\"#neighbours button[data-grid='{target2}']\") !== null")
            page.press(f"#neighbours button[data-grid='{target2}']")
            page.wait("document.getElementById('message').className === 'refused'")
            assert "locked" in page.text("#message") and target2 in page.text("#message")
            assert target2 in page.text(".refusal-popup")
            assert editor.api("api/state")["unit_grid"][unit2] != target2
            # undo the lock, then the first lock, then the move; redo the move
            for _ in range(3):
                page.press("#undo")
                page.wait("document.getElementById('message').className === 'done'")
                page.evaluate("document.getElementById('message').className = ''")
            state = editor.api("api/state")
            assert state["unit_grid"][unit] != target and not state["can_undo"]
            page.press("#redo")
            page.wait(f"gridplanEditor.state.unit_grid[{unit}] === '{target}'")
            # rebalance the community, then save: the next version, written whole
            page.press("#rebalance")
            page.wait("document.getElementById('message').className === 'done'")
            page.press("#save")
            page.wait("document.getElementById('message').textContent.includes('version 2')")
            saved = tmp_path / "plan-v2.gpkg"
            back = read_plan(saved)
            assert back.plan.provenance.plan_version == 2
            assert list(back.changes.journal["op"][-2:]) == ["redo", "rebalance"]
            # one more edit, then the server is killed: started again, it is where it was
            unit3, target3, _ = moves[2]
            editor.api("api/move", {"to": target3, "units": [unit3]})
            before = editor.api("api/state")
            # the refused move is the only error Chromium logged (its own line for a 409 answer)
            assert [e for e in page.errors if "409 (Conflict)" not in e] == [], page.errors
            assert len(page.errors) == 1 and page.errors[0].endswith("/api/move")
            assert all(url.startswith(editor.url) for url in page.requests), page.requests
        editor.kill()
        editor = Editor(scene, plan_file, "--token", "s3cret")  # started again, this time asking for a token
        assert f"{before['seq']} edits replayed" in "".join(editor.printed) and editor.token == "s3cret"
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(editor.url + "api/state", timeout=60)
        after = editor.api("api/state")
        assert after["seq"] == before["seq"] and after["unit_grid"] == before["unit_grid"]
        assert after["unit_grid"][unit3] == target3
        with chromium.page(offline=False) as page:  # and a page opened now shows it
            page.visit(editor.address, until=READY)  # the address printed, with its token
            assert page.evaluate(f"gridplanEditor.state.unit_grid[{unit3}]") == target3
            assert not page.errors, page.errors
    finally:
        editor.kill()
    # the saved plan is a plan like any other: regenerated from
    code, out, err = run(capsys, "plan", scene, "-o", tmp_path / "v3.gpkg", "--previous", saved, "--lang", "en")
    assert code == 0, err
    assert read_plan(tmp_path / "v3.gpkg").plan.provenance.plan_version == 3
    # and compared with the plan it was edited from: the realignment list holds what the editor moved
    code, out, err = run(capsys, "compare", scene, plan_file, saved, "-o", tmp_path / "compare", "--lang", "en")
    assert code == 0, err
    moved = back.changes.building_changes
    moved = moved[moved["change"] == "moved"]
    assert f"moved {len(moved)} ({int(moved['households'].sum())} households)" in out
    # and drawn, reported and printed like any plan
    for command, output, made in (
        ("map", tmp_path / "edited.html", ["edited.html"]),
        ("report", tmp_path / "report", ["grids.csv", "grids.xlsx", "summary.html"]),
        ("print", tmp_path / "wall", ["street-office.pdf", "community-1.pdf"]),
    ):
        code, out, err = run(capsys, command, scene, saved, "-o", output, "--lang", "en")
        assert code == 0, (command, err)
        folder = output if output.is_dir() else output.parent
        assert all((folder / name).stat().st_size > 1000 for name in made), (command, out)
