"""Plans in a real PostgreSQL with PostGIS: written in one transaction, read back, never half-written.

CI (``.ci/run``) installs PostgreSQL and PostGIS from Debian's packages, starts the server on loopback and
exports ``GRIDPLAN_TEST_PG`` (a ``postgresql://`` URL with a password). Without it these tests fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pandas as pd
import pytest
import shapely
from sqlalchemy import text

import gridplan
from gridplan.cli import EXIT_INPUT, EXIT_OK, main
from gridplan.core.results import PlanRun
from gridplan.engine.regenerate import regenerate
from gridplan.errors import InputError
from gridplan.io.postgis import PAUSE_ENV, list_plans, read_layers_postgis, redact, write_plan_postgis
from gridplan.io.store import (
    plan_from_layers,
    plan_layers,
    previous_from_layers,
    read_previous,
    write_layers,
    write_plan,
)
from gridplan.partition import partition
from gridplan.settings import DEFAULTS

from .support.postgis import database_url, drop_plan, engine_of


@pytest.fixture(scope="module")
def dsn():
    return database_url()


@pytest.fixture
def schema(dsn):
    """A fresh schema per test, dropped afterwards; its name needs quoting."""
    name = f"Test plans; {uuid.uuid4().hex[:8]}"
    yield name
    engine = engine_of(dsn)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {conn.dialect.identifier_preparer.quote(name)} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="module")
def scene(small_district):
    return small_district[0]


@pytest.fixture(scope="module")
def plan(small_district):
    return small_district[1]


def _write(dsn, scene, plan, schema, name=None, extra=None):
    return write_plan_postgis(dsn, scene, plan_layers(PlanRun(plan), scene) | (extra or {}), schema=schema, name=name)


def _read(dsn, schema, name=None):
    return plan_from_layers(read_layers_postgis(dsn + (f"#{name}" if name else ""), schema=schema)).plan


def _count(dsn, sql, **params):
    engine = engine_of(dsn)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def test_written_plan_reads_back_with_its_grids_assignment_and_metadata(dsn, schema, scene, plan):
    tables = _write(dsn, scene, plan, schema, "Xinjiekou-2026")
    assert f"{schema}.Xinjiekou-2026_grids" in tables and f"{schema}.Xinjiekou-2026_communities" in tables

    previous = _read(dsn, schema, "Xinjiekou-2026")
    pd.testing.assert_frame_equal(
        previous.assignment[["building_id", "grid_id"]], plan.assignment[["building_id", "grid_id"]]
    )
    assert previous.grids["grid_id"].tolist() == plan.grids["grid_id"].tolist()
    assert previous.grids["code"].tolist() == plan.grids["code"].tolist()
    assert previous.grids["households"].sum() == plan.grids["households"].sum() == 15000
    assert previous.grids.crs == plan.grids.crs
    assert shapely.equals_exact(previous.grids.geometry.to_numpy(), plan.grids.geometry.to_numpy(), 1e-6).all()

    row = list_plans(dsn, schema=schema).iloc[0]
    assert row["name"] == "Xinjiekou-2026" and row["version"] == gridplan.__version__
    assert row["parameters"]["grid"]["target"] == 300
    assert abs(pd.Timestamp.now(tz="UTC") - row["created"]) < pd.Timedelta(minutes=5)
    assert {"grids", "buildings", "metrics", "warnings", "communities", "scene_buildings", "streets"} <= set(
        row["layers"]
    )
    assert _count(dsn, f'SELECT count(*) FROM "{schema}"."Xinjiekou-2026_scene_buildings"') == len(
        scene.scene.buildings
    )


def test_regenerating_from_postgis_is_regenerating_from_the_plan_file(dsn, schema, scene, plan, tmp_path):
    _write(dsn, scene, plan, schema)
    write_plan(PlanRun(plan), scene, tmp_path / "plan.gpkg")
    keep = DEFAULTS.with_regeneration(
        rebalance=False
    )  # what is read back, not what rebalancing trades (test_rebalance)
    from_db = regenerate(scene, previous_from_layers(read_layers_postgis(dsn, schema=schema)), keep)
    from_file = regenerate(scene, read_previous(tmp_path / "plan.gpkg"), keep)
    assert from_db.changes.kept_share == from_file.changes.kept_share > 0.9
    rebalanced = [
        regenerate(scene, previous, DEFAULTS).changes
        for previous in (
            previous_from_layers(read_layers_postgis(dsn, schema=schema)),
            read_previous(tmp_path / "plan.gpkg"),
        )
    ]
    pd.testing.assert_frame_equal(*(changes.tradeoff for changes in rebalanced))
    pd.testing.assert_frame_equal(from_db.plan.assignment, from_file.plan.assignment)
    pd.testing.assert_frame_equal(from_db.changes.grid_changes, from_file.changes.grid_changes)


def test_rewriting_a_plan_replaces_it_and_drops_its_old_layers(dsn, schema, scene, plan):
    extra = pd.DataFrame({"grid_id": plan.grids["grid_id"], "members": 3})
    _write(dsn, scene, plan, schema, "a", {"grid_party": extra})
    _write(dsn, scene, plan, schema, "b")
    assert (
        _count(dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = :s AND tablename = 'a_grid_party'", s=schema)
        == 1
    )
    _write(dsn, scene, partition(scene, DEFAULTS.with_grid(target=250)), schema, "a")
    assert (
        _count(dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = :s AND tablename = 'a_grid_party'", s=schema)
        == 0
    )
    assert len(_read(dsn, schema, "a").grids) > len(_read(dsn, schema, "b").grids)
    assert set(list_plans(dsn, schema=schema)["name"]) == {"a", "b"}


WRITER = """
import sys
from gridplan.partition import partition
from gridplan.pipeline import prepare_scene
from gridplan.io.postgis import write_plan_postgis
from gridplan.core.results import PlanRun
from gridplan.settings import DEFAULTS
from gridplan.io.store import plan_layers
from gridplan.scenarios.district import generate_district
scene = prepare_scene(generate_district(600, 15000, n_communities=6))
layers = plan_layers(PlanRun(partition(scene, DEFAULTS.with_grid(target=200))), scene)
write_plan_postgis(sys.argv[1], scene, layers, schema=sys.argv[2], name="main")
"""


def test_a_writer_killed_mid_transaction_leaves_the_previous_plan_intact(dsn, schema, scene, plan):
    _write(dsn, scene, plan, schema, "main")
    app = f"gridplan-kill-{uuid.uuid4().hex[:8]}"
    writer_dsn = dsn + ("&" if "?" in dsn else "?") + f"application_name={app}"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, writer_dsn, schema], env={**os.environ, PAUSE_ENV: "120"})
    try:
        # the writer is inside its transaction, the old plan dropped and one new table written, waiting
        deadline = time.monotonic() + 120
        while not _count(
            dsn,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND state = 'idle in transaction' "
            "AND now() - state_change > interval '1 second'",
            a=app,
        ):
            assert writer.poll() is None, "the writer ended before pausing"
            assert time.monotonic() < deadline, "the writer never paused inside its transaction"
            time.sleep(0.2)
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == -signal.SIGKILL

    previous = _read(dsn, schema, "main")
    assert previous.grids["grid_id"].tolist() == plan.grids["grid_id"].tolist()
    pd.testing.assert_frame_equal(
        previous.assignment[["building_id", "grid_id"]], plan.assignment[["building_id", "grid_id"]]
    )
    assert list_plans(dsn, schema=schema)["parameters"].iloc[0]["grid"]["target"] == 300
    assert (
        _count(
            dsn,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND state LIKE 'idle in transaction%'",
            a=app,
        )
        == 0
    )


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("postgresql://grid:s3cr%40t@db.example:5432/plans", "postgresql://grid:***@db.example:5432/plans"),
        (
            "postgresql://grid@db.example/plans?password=s3cret&sslmode=require",
            "postgresql://grid@db.example/plans?password=***&sslmode=require",
        ),
        (
            "host=db.example user=grid password='s3 cret' dbname=plans",
            "host=db.example user=grid password=*** dbname=plans",
        ),
        ("postgresql://grid@localhost/plans", "postgresql://grid@localhost/plans"),
    ],
)
def test_redact_masks_the_password(raw, masked):
    assert redact(raw) == masked


def test_a_refused_login_names_the_server_but_not_the_password(dsn, scene, plan):
    parts = urlsplit(dsn)
    wrong = (
        dsn.replace(f":{parts.password}@", ":Wr0ng-pa55word@")
        if parts.password
        else dsn.replace("@", ":Wr0ng-pa55word@", 1)
    )
    with pytest.raises(InputError) as refused:
        _write(wrong, scene, plan, "never_created")
    assert "Wr0ng-pa55word" not in str(refused.value) and ":***@" in str(refused.value)
    assert str(parts.hostname) in str(refused.value)


def test_cli_plans_in_parallel_into_postgis_and_regenerates_from_it(dsn, scene, tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, scene.scene.layers())
    name = f"cli_{uuid.uuid4().hex[:8]}"
    try:
        assert main(["plan", str(scene_path), "-o", f"{dsn}#{name}", "--workers", "2"]) == EXIT_OK
        assert (
            main(
                [
                    "plan",
                    str(scene_path),
                    "-o",
                    str(tmp_path / "new.gpkg"),
                    "--previous",
                    f"{dsn}#{name}",
                    "--lang",
                    "en",
                ]
            )
            == EXIT_OK
        )
        out = capsys.readouterr()
        assert "of buildings kept their grid" in out.out and f"{name}" in out.out
        password = urlsplit(dsn).password
        assert not password or password not in out.out + out.err
        assert main(["plan", str(scene_path), "-o", f"{dsn}#{'x' * 60}"]) == EXIT_INPUT
    finally:
        drop_plan(dsn, name)


def test_cli_stores_a_plan_with_its_coverage_in_one_plan(dsn, scene, tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, scene.scene.layers())
    assert main(["plan", str(scene_path), "-o", str(tmp_path / "plan.gpkg")]) == EXIT_OK
    name = f"cov_{uuid.uuid4().hex[:8]}"
    try:
        assert main(["coverage", str(scene_path), str(tmp_path / "plan.gpkg"), "-o", f"{dsn}#{name}"]) == EXIT_OK
        plans = list_plans(dsn)
        layers = plans.loc[plans["name"] == name, "layers"].iat[0]
        assert {"grids", "buildings", "grid_party", "member_links", "service_coverage", "proposed_sites"} <= set(layers)
        engine = engine_of(dsn)
        with engine.connect() as conn:
            linked = conn.execute(text(f'SELECT sum(households) FROM gridplan."{name}_member_links"')).scalar()
        engine.dispose()
        assert linked > 0
        password = urlsplit(dsn).password
        out = capsys.readouterr()
        assert not password or password not in out.out + out.err
    finally:
        drop_plan(dsn, name)
