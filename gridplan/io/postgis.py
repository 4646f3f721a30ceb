"""Plans in PostGIS (PostgreSQL): the scene, the plan, its coverage and metadata, written in one transaction.

A plan is stored under a name in a schema (default ``gridplan``): one table per layer, named
``<name>_<layer>`` (``main_grids``, ``main_buildings``, ``main_communities``…), and one row in the
schema's ``plans`` table (name, plan id, gridplan version, parameters as JSON, creation time, layers).
Writing replaces the plan of that name inside a single transaction — the old tables are dropped and the
new ones created before one commit — so readers see the previous plan until the new one is complete, and
a run that crashes or is killed leaves the previous plan intact (PostgreSQL's DDL is transactional).

Identifiers are quoted (SQLAlchemy's preparer, psycopg's ``sql.Identifier``); a connection string's
password never appears in messages: see :func:`redact`.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

import geopandas as gpd
import pandas as pd

from gridplan.core.scene import PreparedScene
from gridplan.errors import InputError

from .drivers import is_dsn, storable

DEFAULT_SCHEMA = "gridplan"
DEFAULT_NAME = "main"
#: PostgreSQL truncates identifiers beyond 63 bytes; a plan name leaves room for ``_<layer>``.
MAX_NAME_BYTES = 40
#: Seconds to wait inside the transaction after the first table (tests kill the writer there).
PAUSE_ENV = "GRIDPLAN_POSTGIS_TEST_PAUSE"


def redact(dsn: str) -> str:
    """The connection string with its password replaced by ``***`` (URL, ``?password=`` and key=value forms)."""
    text = str(dsn)
    if "://" in text:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":***"
            netloc = f"{userinfo}@{host}"
        query = re.sub(r"(?i)(^|&)(password)=[^&]*", r"\1\2=***", parts.query)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return re.sub(r"(?i)\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text)


def _password(dsn: str) -> str | None:
    if "://" in dsn:
        parts = urlsplit(dsn)
        if parts.password:
            return parts.password
        found = re.search(r"(?i)(?:^|&)password=([^&]*)", parts.query)
        return found.group(1) if found else None
    found = re.search(r"(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn)
    return found.group(1).strip("'") if found else None


def _safe_message(exc: BaseException, dsn: str) -> str:
    """An error's first line, with the password masked wherever the driver might have echoed it."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    secret = _password(dsn)
    return text.replace(secret, "***") if secret else text


def _engine(dsn: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if not is_dsn(dsn):
        raise InputError(
            f"not a PostgreSQL connection URL: {redact(dsn)} (expected postgresql://user@host/database)",
            zh=f"不是 PostgreSQL 连接地址：{redact(dsn)}（应为 postgresql://user@host/database）",
        )
    url = make_url(dsn)
    return create_engine(url.set(drivername="postgresql+psycopg"), hide_parameters=True)


def _check_name(name: str) -> str:
    if not name or len(name.encode()) > MAX_NAME_BYTES:
        raise InputError(
            f"plan name {name!r}: 1 to {MAX_NAME_BYTES} bytes", zh=f"方案名 {name!r}：须为 1 至 {MAX_NAME_BYTES} 字节"
        )
    return name


def write_plan_postgis(
    dsn: str,
    prepared: PreparedScene,
    layers: Mapping[str, pd.DataFrame | None],
    *,
    schema: str = DEFAULT_SCHEMA,
    name: str | None = None,
) -> list[str]:
    """Write a scene and a plan's layers (and its coverage's) to PostGIS, replacing the plan of that name atomically.

    Parameters
    ----------
    dsn
        ``postgresql://user:password@host:port/database[#name]``; the database needs the ``postgis``
        extension (created when missing and allowed). The fragment names the plan unless ``name`` does.
    prepared
        The scene planned: each layer becomes table ``<name>_<layer>`` (``communities``, ``streets``…), the
        scene's buildings as ``<name>_scene_buildings``.
    layers
        The plan's layers (:func:`gridplan.io.store.plan_layers`), with coverage layers where they go together;
        the ``provenance`` layer's settings also fill the ``parameters`` of the ``plans`` row.
    schema, name
        Where: schema (created when missing) and plan name (default: the URL's fragment, else ``main``).

    Returns
    -------
    list of str
        The tables written, schema-qualified.

    Raises
    ------
    InputError
        Bad connection URL, unreachable server or refused login, or a bad plan name (password masked).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    name = _check_name(name or urlsplit(dsn).fragment or DEFAULT_NAME)
    dsn = dsn.split("#", 1)[0]
    tables: dict[str, pd.DataFrame] = {}
    scene_layers = {("scene_buildings" if k == "buildings" else k): v for k, v in prepared.scene.layers().items()}
    for group in (scene_layers, layers):
        tables.update({layer: frame for layer, frame in group.items() if frame is not None})
    provenance = layers.get("provenance")
    parameters = dict(zip(provenance["key"], provenance["value"].map(json.loads))) if provenance is not None else {}
    engine = _engine(dsn)
    try:
        with engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            qschema = quote(schema)
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {qschema}"))
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {qschema}.plans (name text PRIMARY KEY, plan_id uuid NOT NULL, "
                    "version text NOT NULL, parameters jsonb NOT NULL, created timestamptz NOT NULL, layers text[] NOT NULL)"
                )
            )
            # One writer at a time; readers of the plans table are not blocked.
            conn.execute(text(f"LOCK TABLE {qschema}.plans IN SHARE ROW EXCLUSIVE MODE"))
            old = conn.execute(text(f"SELECT layers FROM {qschema}.plans WHERE name = :name"), {"name": name}).scalar()
            for layer in old or []:
                conn.execute(text(f"DROP TABLE IF EXISTS {qschema}.{quote(f'{name}_{layer}')}"))
            for i, (layer, frame) in enumerate(tables.items()):
                _write_table(storable(frame), conn, f"{name}_{layer}", schema)
                if i == 0 and os.environ.get(PAUSE_ENV):
                    time.sleep(float(os.environ[PAUSE_ENV]))
            conn.execute(
                text(
                    f"INSERT INTO {qschema}.plans (name, plan_id, version, parameters, created, layers) "
                    "VALUES (:name, :plan_id, :version, CAST(:parameters AS jsonb), :created, :layers) "
                    "ON CONFLICT (name) DO UPDATE SET plan_id = EXCLUDED.plan_id, version = EXCLUDED.version, "
                    "parameters = EXCLUDED.parameters, created = EXCLUDED.created, layers = EXCLUDED.layers"
                ),
                {
                    "name": name,
                    "plan_id": str(uuid.uuid4()),
                    "version": parameters.get("version", "unknown"),
                    "parameters": json.dumps(parameters.get("settings", {})),
                    "created": datetime.now(timezone.utc),
                    "layers": list(tables),
                },
            )
    except (SQLAlchemyError, OSError) as exc:
        raise InputError(
            f"cannot write plan {name!r} to {redact(dsn)}: {_safe_message(exc, dsn)}",
            zh=f"无法将方案 {name!r} 写入 {redact(dsn)}：{_safe_message(exc, dsn)}",
        ) from None
    finally:
        engine.dispose()
    return [f"{schema}.{name}_{layer}" for layer in tables]


def _write_table(frame: pd.DataFrame, conn, table: str, schema: str) -> None:
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        frame.to_postgis(table, conn, schema=schema, if_exists="fail", index=False)
    else:
        pd.DataFrame(frame).to_sql(table, conn, schema=schema, if_exists="fail", index=False)


def list_plans(dsn: str, *, schema: str = DEFAULT_SCHEMA) -> pd.DataFrame:
    """The plans stored in ``schema``: name, plan_id, version, parameters, created, layers (newest first)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(dsn)
    try:
        with engine.connect() as conn:
            qschema = conn.dialect.identifier_preparer.quote(schema)
            return pd.read_sql(text(f"SELECT * FROM {qschema}.plans ORDER BY created DESC"), conn)
    except (SQLAlchemyError, OSError) as exc:
        raise InputError(
            f"cannot list the plans in {redact(dsn)}: {_safe_message(exc, dsn)}",
            zh=f"无法列出 {redact(dsn)} 中的方案：{_safe_message(exc, dsn)}",
        ) from None
    finally:
        engine.dispose()


def read_layers_postgis(
    dsn: str, names: tuple[str, ...] | None = None, *, schema: str = DEFAULT_SCHEMA
) -> dict[str, pd.DataFrame]:
    """The layers of a stored plan (and its coverage and scene), by layer name: what
    :func:`gridplan.io.store.read_plan` and :func:`gridplan.io.store.read_coverage` read from PostGIS.

    Parameters
    ----------
    dsn
        Connection URL; its ``#name`` fragment selects the plan, else the newest plan in the schema.
    names
        Only these layers (all by default).
    schema
        The schema the plan was written to.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    name = urlsplit(dsn).fragment or None
    engine = _engine(dsn.split("#", 1)[0])
    out: dict[str, pd.DataFrame] = {}
    try:
        with engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            qschema = quote(schema)
            if name is None:
                name = conn.execute(text(f"SELECT name FROM {qschema}.plans ORDER BY created DESC LIMIT 1")).scalar()
            layers = conn.execute(
                text(f"SELECT layers FROM {qschema}.plans WHERE name = :name"), {"name": name}
            ).scalar()
            if not layers:
                raise InputError(
                    f"no plan {name!r} in schema {schema!r} of {redact(dsn)}",
                    zh=f"{redact(dsn)} 的模式 {schema!r} 中没有方案 {name!r}",
                )
            geometry = dict(
                conn.execute(
                    text("SELECT f_table_name, f_geometry_column FROM geometry_columns WHERE f_table_schema = :schema"),
                    {"schema": schema},
                ).all()
            )
            for layer in layers:
                if names is not None and layer not in names:
                    continue
                table = f"{name}_{layer}"
                query = text(f"SELECT * FROM {qschema}.{quote(table)}")
                out[layer] = (
                    gpd.read_postgis(query, conn, geom_col=geometry[table])
                    if table in geometry
                    else pd.read_sql(query, conn)
                )
    except InputError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise InputError(
            f"cannot read plan {name!r} from {redact(dsn)}: {_safe_message(exc, dsn)}",
            zh=f"无法从 {redact(dsn)} 读取方案 {name!r}：{_safe_message(exc, dsn)}",
        ) from None
    finally:
        engine.dispose()
    return out
