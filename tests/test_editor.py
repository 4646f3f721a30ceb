"""The editor (``gridplan edit``): edits held to the hard rules, journaled, undone, saved as the next version.

Every edit the session makes or refuses is checked again here with networkx on the units' graph, apart from the
session's own check; the journal is replayed into a new session and must give the same layout."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gridplan.core.results import PreviousPlan
from gridplan.editor.server import create_app, token_for
from gridplan.editor.session import EditRefused, EditSession, default_output, open_session
from gridplan.engine.regenerate import regenerate
from gridplan.errors import InputError
from gridplan.io.store import read_plan, read_previous, write_layers, write_plan
from gridplan.vocabulary import TIGHT_BAND_CLAIMS, EditRefusal, GridKind, MoveReason

from .support.assertions import assert_hard_rules
from .support.cli import assert_one_line_error, run
from .support.postgis import database_url, drop_plan


@pytest.fixture
def session(small_district) -> EditSession:
    prepared, plan = small_district
    return EditSession(prepared, PreviousPlan.of(plan))


def grid_atoms(session: EditSession) -> dict[str, np.ndarray]:
    grids = np.asarray(session.atom_grids(), dtype=object)
    return {g: np.flatnonzero(grids == g) for g in np.unique(grids)}


def boundary_moves(session: EditSession) -> list[tuple[int, str]]:
    """Every (unit, neighbouring grid) pair on a grid boundary within a community."""
    grids = session.atom_grids()
    moves = set()
    for a, b in session.graph.edges():
        if grids[a] != grids[b] and session.community[a] == session.community[b]:
            moves |= {(a, grids[b]), (b, grids[a])}
    return sorted(moves)


def pieces(graph: nx.Graph, atoms, barriers: bool = True) -> int:
    """Connected pieces of ``atoms`` (without the edges along a barrier unless ``barriers``), by networkx."""
    nodes = [int(a) for a in atoms]
    sub = graph.subgraph(nodes)
    if not barriers:
        sub = nx.Graph([(a, b) for a, b, d in sub.edges(data=True) if not d.get("barrier")])
        sub.add_nodes_from(nodes)
    return nx.number_connected_components(sub)


def assert_layout_holds(session: EditSession, special: dict[str, np.ndarray]):
    """Every grid in one piece and one community; households conserved; special grids as they were."""
    after = grid_atoms(session)
    for g, atoms in after.items():
        assert pieces(session.graph, atoms) == 1, f"grid {g} in pieces"
        assert len(set(session.community[atoms])) == 1, f"grid {g} spans communities"
    for g, atoms in special.items():
        assert np.array_equal(after[g], atoms), f"special grid {g} changed"
    total = sum(f.households for f in session.figures())
    assert total == pytest.approx(session.building_households.sum())


def test_a_legal_move_changes_two_grids_and_their_figures_as_a_recount_gives_them(session):
    unit, target = next((u, g) for u, g in boundary_moves(session) if _legal(session, u, g))
    source = session.atom_grids()[unit]
    before = {f.grid_id: f.households for f in session.figures()}
    result = session.move(target, units=[unit])
    assert result.moved == [unit] and {f.grid_id for f in result.touched} == {source, target}
    moved = session.atom_households[unit]
    after = {f.grid_id: f.households for f in session.figures()}
    assert after[target] == pytest.approx(before[target] + moved)
    assert after.get(source, 0) == pytest.approx(before[source] - moved)
    # the figures against a recount from the buildings, by grid
    building_grid = np.asarray(session.atom_grids(), dtype=object)[session.building_atoms]
    for f in result.touched:
        assert f.households == pytest.approx(session.building_households[building_grid == f.grid_id].sum())
        assert f.deviation == pytest.approx(f.households / 300 - 1)


def _legal(session: EditSession, unit: int, target: str) -> bool:
    """Whether the move is made (it is then taken back)."""
    if _made(session, unit, target) is None:
        return False
    session.undo()
    return True


def _made(session: EditSession, unit: int, target: str):
    """The move made, or None where it is refused."""
    try:
        return session.move(target, units=[unit])
    except EditRefused:
        return None


def special_grids(session: EditSession) -> dict[str, np.ndarray]:
    kinds = {f.grid_id: f.kind for f in session.figures()}
    return {g: a for g, a in grid_atoms(session).items() if kinds[g] == GridKind.SPECIAL}


def test_every_boundary_move_is_made_or_refused_as_an_independent_check_of_the_rules_says(session):
    """Each unit on a grid boundary offered to each neighbouring grid: a move made breaks no rule (checked with
    networkx and undone); a move refused names a rule that networkx confirms it breaks; nothing changes then."""
    grids0 = session.atom_grids()
    kinds = {f.grid_id: f.kind for f in session.figures()}
    seen = {}
    for unit, target in boundary_moves(session):
        source = grids0[unit]
        layout = grid_atoms(session)
        try:
            session.move(target, units=[unit])
        except EditRefused as refused:
            seen[refused.code] = seen.get(refused.code, 0) + 1
            assert session.atom_grids() == grids0
            joined = np.append(layout[target], unit)
            left = layout[source][layout[source] != unit]
            broken = {
                EditRefusal.SPECIAL: GridKind.SPECIAL in (kinds[source], kinds[target]),
                EditRefusal.NOT_TOUCHING: pieces(session.graph, joined) > 1,
                EditRefusal.ACROSS_BARRIER: pieces(session.graph, joined, barriers=False)
                > pieces(session.graph, layout[target], barriers=False)
                or len(left) > 0
                and pieces(session.graph, left, barriers=False) > pieces(session.graph, layout[source], barriers=False),
                EditRefusal.SPLITS_GRID: len(left) > 0 and pieces(session.graph, left) > 1,
            }
            assert broken.get(refused.code), (refused.code, unit, source, target)
            continue
        seen["made"] = seen.get("made", 0) + 1
        after = grid_atoms(session)
        assert pieces(session.graph, after[target]) == 1
        assert source not in after or pieces(session.graph, after[source]) == 1
        assert kinds[source] != GridKind.SPECIAL and kinds[target] != GridKind.SPECIAL
        for g in (source, target):
            if g in after:  # no grid comes to be joined only across a river by a move
                assert pieces(session.graph, after[g], barriers=False) <= pieces(
                    session.graph, layout[g], barriers=False
                )
        session.undo()
        assert session.atom_grids() == grids0
    # the scene offers every kind of move: made, and refused for each rule a boundary move can break
    assert {"made", EditRefusal.SPECIAL, EditRefusal.SPLITS_GRID, EditRefusal.ACROSS_BARRIER} <= set(seen), seen


def test_what_does_not_exist_or_belongs_elsewhere_is_refused_with_its_reason(session):
    grids = session.atom_grids()
    other = next(a for a in range(len(grids)) if session.community[a] != session.community[0])
    cases = [
        (lambda: session.move("no-such-grid", units=[0]), EditRefusal.UNKNOWN_GRID),
        (lambda: session.move(grids[0], units=[10**6]), EditRefusal.UNKNOWN_UNIT),
        (lambda: session.move(grids[0], units=[True]), EditRefusal.UNKNOWN_UNIT),
        (lambda: session.move(grids[0], buildings=["no-such-building"]), EditRefusal.UNKNOWN_BUILDING),
        (lambda: session.move(grids[0]), EditRefusal.NOTHING_CHOSEN),
        (lambda: session.move(grids[0], units=[0]), EditRefusal.SAME_GRID),
        (lambda: session.move(grids[0], units=[other]), EditRefusal.OTHER_COMMUNITY),
        (lambda: session.undo(), EditRefusal.NOTHING_TO_UNDO),
        (lambda: session.redo(), EditRefusal.NOTHING_TO_REDO),
        (lambda: session.rebalance("no-such-community"), EditRefusal.UNKNOWN_COMMUNITY),
        (lambda: session.lock(grids[0], False), EditRefusal.NOT_LOCKED),
    ]
    for edit, code in cases:
        with pytest.raises(EditRefused) as refused:
            edit()
        assert refused.value.code == code
        assert refused.value.zh and str(refused.value)  # said in both languages
    assert session.atom_grids() == grids and session.seq == 0


def test_a_locked_grid_takes_no_edit_until_unlocked(session):
    unit, target = next((u, g) for u, g in boundary_moves(session) if _legal(session, u, g))
    session.lock(target)
    with pytest.raises(EditRefused) as refused:
        session.move(target, units=[unit])
    assert refused.value.code == EditRefusal.LOCKED
    with pytest.raises(EditRefused):
        session.lock(target)
    session.lock(target, False)
    assert session.move(target, units=[unit]).moved == [unit]


def test_undo_and_redo_walk_the_edits_back_and_forth_exactly(session):
    states = [session.atom_grids()]
    for unit, target in boundary_moves(session):
        if len(states) == 6:
            break
        try:
            session.move(target, units=[unit])
        except EditRefused:
            continue
        states.append(session.atom_grids())
    assert len(states) == 6
    for state in reversed(states[:-1]):
        session.undo()
        assert session.atom_grids() == state
    for state in states[1:]:
        session.redo()
        assert session.atom_grids() == state
    session.undo()
    unit, target = next((u, g) for u, g in boundary_moves(session) if _legal(session, u, g))
    session.move(target, units=[unit])
    with pytest.raises(EditRefused):  # a new edit ends what could be redone
        session.redo()


@settings(max_examples=12, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["move", "move", "move", "lock", "unlock", "undo", "redo", "rebalance"]),
            st.integers(0, 10**6),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_any_sequence_of_edits_keeps_the_hard_rules_and_replays_from_its_journal(small_district, steps):
    prepared, plan = small_district
    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder) / "plan.edits.jsonl"
        session = EditSession(prepared, PreviousPlan.of(plan), journal=journal)
        special = special_grids(session)
        locked_at: dict[str, np.ndarray] = {}
        for op, pick in steps:
            before = grid_atoms(session)
            try:
                if op == "move":
                    moves = boundary_moves(session)
                    unit, target = moves[pick % len(moves)]
                    session.move(target, units=[unit])
                elif op in ("lock", "unlock"):
                    figures = session.figures()
                    session.lock(figures[pick % len(figures)].grid_id, op == "lock")
                elif op == "rebalance":
                    communities = sorted(set(session.community))
                    session.rebalance(communities[pick % len(communities)])
                else:
                    getattr(session, op)()
            except EditRefused:
                assert grid_atoms(session).keys() == before.keys()
                assert all(np.array_equal(grid_atoms(session)[g], a) for g, a in before.items())
            locked_now = {f.grid_id for f in session.figures() if f.locked}
            after = grid_atoms(session)
            if op in ("move", "rebalance"):  # a locked grid is as it was when locked
                for g in locked_now & set(locked_at):
                    assert np.array_equal(after.get(g, np.empty(0, int)), locked_at[g])
            locked_at = {g: after.get(g, np.empty(0, int)) for g in locked_now}
            assert_layout_holds(session, special)
        reopened = EditSession(prepared, PreviousPlan.of(plan), journal=journal)
        assert reopened.atom_grids() == session.atom_grids()
        assert reopened.layout.locked == session.layout.locked and reopened.seq == session.seq
        assert sorted(f.as_dict().items() for f in reopened.figures()) == sorted(
            f.as_dict().items() for f in session.figures()
        )
        assert len(reopened.undo_stack) == len(session.undo_stack)


def test_a_journal_cut_short_by_a_crash_reopens_at_the_last_whole_edit_and_another_plans_is_refused(
    small_district, tmp_path
):
    prepared, plan = small_district
    journal = tmp_path / "plan.edits.jsonl"
    session = EditSession(prepared, PreviousPlan.of(plan), journal=journal)
    made = [m for u, g in boundary_moves(session)[:40] if (m := _made(session, u, g))][:3]
    assert len(made) == 3
    whole = session.atom_grids()
    with open(journal, "a", encoding="utf-8") as f:
        f.write('{"seq": 99, "op": "move", "changes": [[1, ')  # the server killed while writing
    reopened = EditSession(prepared, PreviousPlan.of(plan), journal=journal)
    assert reopened.atom_grids() == whole and reopened.seq == session.seq
    assert journal.read_text(encoding="utf-8").endswith("\n")  # the broken line is gone
    renamed = {plan.grids["grid_id"].iat[0]: "renamed"}  # the same layout, one grid named otherwise: another plan
    other = PreviousPlan(
        assignment=plan.assignment[["building_id", "grid_id"]].replace({"grid_id": renamed}),
        grids=plan.grids.replace({"grid_id": renamed}),
    )
    with pytest.raises(InputError, match="another plan"):
        EditSession(prepared, other, journal=journal)


def test_a_saved_edit_is_the_next_version_with_every_move_and_its_reason_and_regenerates(small_district, tmp_path):
    prepared, plan = small_district
    first = tmp_path / "plan.gpkg"
    run = regenerate(prepared, PreviousPlan.of(plan))  # a plan of version 2 written as gridplan writes it
    write_plan(run, prepared, first)
    session = EditSession(prepared, read_previous(first), journal=tmp_path / "j.jsonl", author="张三")
    made = []
    for u, g in boundary_moves(session):
        if len(made) < 4 and session.atom_grids()[u] != g and (m := _made(session, u, g)):
            made.append(m)
    community = session.figures()[0].community_id
    session.rebalance(community)
    figures = {f.grid_id: f for f in session.figures()}
    saved, written = session.save(tmp_path / "edited.gpkg")
    assert written == [str(tmp_path / "edited.gpkg")]
    back = read_plan(tmp_path / "edited.gpkg")
    plan2 = back.plan
    assert plan2.provenance.plan_version == run.plan.provenance.plan_version + 1
    assert plan2.provenance.parent_fingerprint == read_previous(first).fingerprint()
    # the layout saved is the session's, building by building
    building_grid = np.asarray(session.atom_grids(), dtype=object)[session.building_atoms]
    ids = prepared.local.buildings["building_id"].astype(str).to_numpy()
    assert dict(zip(plan2.assignment["building_id"], plan2.assignment["grid_id"])) == dict(zip(ids, building_grid))
    # the editor's figures are the plan's
    for row in plan2.grids.itertuples():
        assert figures[row.grid_id].households == pytest.approx(row.households)
        assert figures[row.grid_id].service_radius_m == pytest.approx(row.service_radius_m, abs=0.06)
    # every building moved by hand says so; the journal is kept
    moved = back.changes.building_changes
    by_hand = {str(b) for r in made for u in r.moved for b in ids[session.building_atoms == u]}
    reasons = dict(zip(moved["building_id"], moved["reason"]))
    assert by_hand and all(reasons[b] in (MoveReason.ADJUSTED, MoveReason.REBALANCE) for b in by_hand)
    assert MoveReason.ADJUSTED in set(reasons.values())
    journal = back.changes.journal
    assert list(journal["op"]) == ["move"] * 4 + ["rebalance"] and set(journal["author"]) == {"张三"}
    assert_hard_rules(prepared.scene, saved.plan)
    # a proof is kept only where no grid it speaks of changed (a unit's misfit holds in any layout)
    opened = read_previous(first).assignment.groupby("grid_id")["building_id"].apply(frozenset)
    edited = plan2.assignment.groupby("grid_id")["building_id"].apply(frozenset)
    for c in plan2.certificates:
        if c.proven and c.claim != "unit_misfit":
            assert all(opened.get(g) == edited.get(g) for g in c.grid_ids), c
    again = regenerate(prepared, read_previous(tmp_path / "edited.gpkg"))
    assert again.plan.provenance.plan_version == plan2.provenance.plan_version + 1


def test_rebalance_keeps_locked_grids_units_placed_by_hand_and_other_communities_and_brings_grids_in(session):
    """Hand moves that leave grids outside ±10%; a locked grid: the rebalance brings grids back in without moving a
    unit placed by hand, a locked grid or another community's grid, and is undone as one edit."""
    community = max(set(session.community), key=lambda c: (session.community == c).sum())
    placed = {}
    for u, g in boundary_moves(session):
        if len(placed) < 12 and session.community[u] == community and u not in placed and _made(session, u, g):
            placed[u] = g

    def outside() -> int:
        return sum(
            not f.within_tight for f in session.figures() if f.community_id == community and f.kind == "ordinary"
        )

    figures = [f for f in session.figures() if f.community_id == community and f.kind == GridKind.ORDINARY]
    locked = next(f.grid_id for f in figures if f.grid_id not in placed.values())
    session.lock(locked)
    before, was_outside = grid_atoms(session), outside()
    elsewhere = {g for g, atoms in before.items() if session.community[atoms[0]] != community}
    result = session.rebalance(community)
    after = grid_atoms(session)
    for g in elsewhere | {locked}:
        assert np.array_equal(after.get(g, np.empty(0, int)), before[g]), g
    grids = session.atom_grids()
    assert all(grids[u] == g for u, g in placed.items())  # every unit placed by hand is where it was placed
    assert result.moved and not set(result.moved) & set(placed)
    assert was_outside > 0 and outside() < was_outside
    assert_layout_holds(session, {})
    session.undo()
    assert all(np.array_equal(grid_atoms(session)[g], a) for g, a in before.items())


# the HTTP API


@pytest.fixture
def client(session, tmp_path):
    return TestClient(create_app(session, output=tmp_path / "edited.gpkg", lang="en"), base_url="http://127.0.0.1")


def test_the_api_moves_refuses_with_the_reason_and_never_answers_with_a_traceback(client, session):
    unit, target = next((u, g) for u, g in boundary_moves(session) if _legal(session, u, g))
    seq = session.seq + 1
    answer = client.post("/api/move", json={"to": target, "units": [unit]})
    assert answer.status_code == 200 and answer.json()["moved"] == [unit]
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    state = client.get("/api/state").json()
    assert state["seq"] == seq and state["unit_grid"][unit] == target and state["can_undo"]
    assert client.get("/api/state", params={"since": seq}).json() == {"seq": seq}
    refused = client.post("/api/move", json={"to": target, "units": [unit]})
    assert refused.status_code == 409 and refused.json()["error"] == "same_grid" and target in refused.json()["message"]
    bad = [
        ("/api/move", b"not json", 400),
        ("/api/move", b"[1, 2]", 400),
        ("/api/move", json.dumps({"units": [1]}).encode(), 400),
        ("/api/move", json.dumps({"to": 5, "units": [1]}).encode(), 400),
        ("/api/move", json.dumps({"to": target, "units": [{"a": 1}]}).encode(), 400),
        ("/api/move", json.dumps({"to": target, "units": [1], "extra": 1}).encode(), 400),
        ("/api/lock", json.dumps({"grid": target, "locked": "yes"}).encode(), 400),
        ("/api/move", b"x" * 2_000_000, 413),
    ]
    for path, body, status in bad:
        answer = client.post(path, content=body)
        assert answer.status_code == status, (path, body[:40], answer.text)
        assert "Traceback" not in answer.text and answer.json()["message"]
    assert client.get("/api/grids/no-such-grid").status_code == 404
    assert client.get("/api/no-such-path").status_code == 404
    assert client.get("/api/move").status_code == 405
    assert client.get("/api/state").json()["seq"] == seq  # nothing bad changed anything
    assert client.post("/api/undo", json={}).json()["moved"] == [unit]


def test_beyond_loopback_a_token_is_asked_and_checked_on_every_request(session, tmp_path):
    assert token_for("127.0.0.1") is None and token_for("0.0.0.0", "given") == "given"
    made = {token_for("0.0.0.0") for _ in range(3)}
    assert len(made) == 3 and all(len(t) >= 20 for t in made)  # a new secret each time the server starts
    with pytest.raises(InputError, match="token"):
        create_app(session, output=tmp_path / "x.gpkg", host="0.0.0.0")
    app = create_app(session, output=tmp_path / "x.gpkg", host="0.0.0.0", token="s3cret")
    client = TestClient(app, base_url="http://0.0.0.0")
    assert client.get("/api/metrics").status_code == 403
    assert client.get("/api/scene").status_code == 403 and client.get("/api/state").status_code == 403
    assert client.post("/api/undo", json={}).status_code == 403
    # the page and its scripts hold no data: a browser loads them without the token, which the page then sends
    assert client.get("/static/editor.js").status_code == 200 and client.get("/").status_code == 200
    assert client.get("/api/metrics?token=wrong").status_code == 403
    assert client.get("/api/metrics?token=s3cret").status_code == 200
    ok = client.get("/api/metrics", headers={"x-gridplan-token": "s3cret"})
    assert ok.status_code == 200 and ok.json()["grids"] == len(session.figures())
    assert client.get("/api/metrics", headers={"host": "evil.example", "x-gridplan-token": "s3cret"}).status_code == 400


def test_a_rebalance_the_kept_grids_leave_no_layout_for_is_refused_with_its_reason(small_district):
    """Bounds of ±1%: a grid whose neighbours are all locked is a region alone, its households fit no grid within
    them; the rebalance is refused (its rule named), not an error, and nothing changes."""
    prepared, plan = small_district
    narrow = dataclasses.replace(prepared, settings=prepared.settings.with_grid(tolerance=0.01, tight_tolerance=0.005))
    session = EditSession(narrow, PreviousPlan.of(plan))
    grid = next(f for f in session.figures() if f.kind == GridKind.ORDINARY and f.households and not f.within_bounds)
    for neighbour in session.neighbours(grid.grid_id):
        session.lock(neighbour)
    before = session.atom_grids()
    with pytest.raises(EditRefused) as refused:
        session.rebalance(grid.community_id)
    assert refused.value.code == EditRefusal.NO_LAYOUT_AROUND and grid.community_id in str(refused.value)
    assert session.atom_grids() == before


# the command line's refusals: one line, exit 2, before anything is served


@pytest.fixture
def written(small_district, tmp_path):
    """The small district's scene and plan as files."""
    prepared, plan = small_district
    scene, plan_file = tmp_path / "scene.gpkg", tmp_path / "plan.gpkg"
    write_layers(scene, prepared.scene.layers())
    write_plan(regenerate(prepared, PreviousPlan.of(plan)), prepared, plan_file)
    return scene, plan_file


def test_edit_refuses_a_plan_of_another_scene_an_output_over_its_input_and_another_plans_journal(
    written, extracts, tmp_path, capsys
):
    scene, plan_file = written
    beijing = tmp_path / "beijing.gpkg"
    write_plan(extracts.run("beijing"), extracts.prepared("beijing"), beijing)
    code, _, err = run(capsys, "edit", scene, beijing, "--no-browser", "--lang", "en")
    assert_one_line_error(code, err, "another scene")
    code, _, err = run(capsys, "edit", scene, plan_file, "-o", plan_file, "--no-browser", "--lang", "en")
    assert_one_line_error(code, err, str(plan_file))
    journal = tmp_path / "other.jsonl"
    journal.write_text('{"journal": "gridplan-edits/1", "plan": "x", "units": "y"}\n', encoding="utf-8")
    code, _, err = run(capsys, "edit", scene, plan_file, "--journal", journal, "--no-browser")
    assert_one_line_error(code, err, "编辑日志", str(journal))
    drawn = tmp_path / "drawn.gpkg"
    read_plan(plan_file).plan.grids[["grid_id", "geometry"]].to_file(drawn, layer="grids")
    code, _, err = run(capsys, "edit", scene, drawn, "--no-browser", "--lang", "en")
    assert_one_line_error(code, err, "regenerate it first")


def test_edits_sent_at_once_from_many_clients_are_made_one_at_a_time_and_replay_alike(small_district, tmp_path):
    prepared, plan = small_district
    journal = tmp_path / "plan.edits.jsonl"
    session = EditSession(prepared, PreviousPlan.of(plan), journal=journal)
    client = TestClient(create_app(session, output=tmp_path / "x.gpkg"), base_url="http://127.0.0.1")
    moves = boundary_moves(session)[:60]

    def send(move):
        unit, target = move
        return client.post("/api/move", json={"to": target, "units": [unit]}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, moves))
    assert set(statuses) <= {200, 409} and statuses.count(200) > 0
    assert session.seq == statuses.count(200)  # each edit once, each refusal nothing
    special = special_grids(session)
    assert_layout_holds(session, special)
    reopened = EditSession(prepared, PreviousPlan.of(plan), journal=journal)
    assert reopened.atom_grids() == session.atom_grids()


def test_a_plan_saved_without_edits_states_the_claims_of_the_plan_opened(small_district):
    """Ground no edit touched keeps its proofs (the district's neighbourhood claim), as a regeneration keeps them."""
    prepared, plan = small_district
    saved = EditSession(prepared, PreviousPlan.of(plan)).plan_run().plan

    def key(c):
        return c.claim, c.status, tuple(sorted(c.grid_ids)), c.fewest, c.cap

    assert any(c.proven for c in plan.certificates)
    assert sorted(map(key, saved.certificates)) == sorted(map(key, plan.certificates))
    assert saved.fingerprint() == plan.fingerprint()


def test_a_plan_in_postgis_is_edited_and_saved_as_its_next_version_in_the_same_database(small_district, tmp_path):
    prepared, plan = small_district
    dsn, name = database_url(), "editor_test"
    try:
        write_plan(regenerate(prepared, PreviousPlan.of(plan)), prepared, f"{dsn}#{name}")
        session = open_session(prepared, f"{dsn}#{name}", journal=tmp_path / "j.jsonl")
        made = next(m for u, g in boundary_moves(session) if (m := _made(session, u, g)))
        target = default_output(f"{dsn}#{name}", 3)
        assert target == f"{dsn}#{name}-v3"
        run, written = session.save(target)
        back = read_plan(target).plan
        assert back.provenance.plan_version == 3 and back.fingerprint() == run.plan.fingerprint()
        building_grid = np.asarray(session.atom_grids(), dtype=object)[session.building_atoms]
        moved = (
            prepared.local.buildings["building_id"].astype(str).to_numpy()[np.isin(session.building_atoms, made.moved)]
        )
        assert set(back.assignment.set_index("building_id").loc[moved, "grid_id"]) == set(
            building_grid[np.isin(session.building_atoms, made.moved)]
        )
    finally:
        drop_plan(dsn, name)


def test_touching_grids_never_share_a_colour_before_or_after_edits(session):
    def clashes() -> list[tuple[str, str]]:
        grids = session.atom_grids()
        return [
            (grids[a], grids[b])
            for a, b in session.graph.edges()
            if grids[a] != grids[b] and session.colour(grids[a]) == session.colour(grids[b])
        ]

    assert clashes() == []
    for unit, target in boundary_moves(session)[:80]:
        _made(session, unit, target)
    session.rebalance(session.community[0])
    assert session.seq > 10 and clashes() == []


def test_a_grid_outside_the_bounds_shows_the_plans_claim_until_an_edit_changes_its_ground(session, small_district):
    _, plan = small_district
    # the claims about the bounds (a grid outside them may also lie on a tight-band claim's ground)
    claimed = {g: c for c in plan.certificates if c.proven and c.claim not in TIGHT_BAND_CLAIMS for g in c.grid_ids}
    outside = [f for f in session.figures() if f.kind == GridKind.ORDINARY and not f.within_bounds]
    assert outside and all(f.claim for f in outside) and all(not f.claim for f in session.figures() if f.within_bounds)
    held = [f for f in outside if f.grid_id in claimed]
    assert held and all(f.proven and f.claim == claimed[f.grid_id].claim for f in held)
    grid = held[0].grid_id
    unit, target = next((u, g) for u, g in boundary_moves(session) if g == grid and _made(session, u, g))
    after = session.figures(grid)[0]
    assert after.within_bounds or (after.claim, after.proven) == ("best_found", False)
