"""The editor's HTTP service: one :class:`~gridplan.editor.session.EditSession` served to the browser (and to a grid
platform that drives it) over a small JSON API, on loopback unless told otherwise.

API (every answer JSON; a refused edit is 409 with ``error`` (an :class:`~gridplan.vocabulary.EditRefusal` code),
``message`` and the ``units`` concerned; a malformed request 400; an unknown path or grid 404; never a traceback):

``GET /api/config``  the page's words, language, poll interval and colours
``GET /api/scene``  units (GeoJSON, WGS84: ``unit``, ``community_id``, ``households``, ``kind``), buildings, streets
and barriers
``GET /api/state?since=SEQ``  ``seq``, each unit's grid, every grid's figures, whether undo/redo can be done;
only ``seq`` when nothing changed since ``SEQ``
``GET /api/grids/{grid_id}``  one grid's figures and its neighbouring grids
``POST /api/move``  ``{"to": grid_id, "units": [positions], "buildings": [ids]}``
``POST /api/lock``  ``{"grid": grid_id, "locked": true|false}``
``POST /api/rebalance``  ``{"community": community_id}``
``POST /api/undo``, ``POST /api/redo``  ``{}``
``POST /api/save``  ``{}``: the plan's next version written atomically; its paths, version and summary
``GET /api/metrics``  grids, within the bounds and the tight band, the journal's length

With a token (required for any host but loopback) every request of the API carries it: header ``X-Gridplan-Token``
or query ``token`` (the page and its scripts, which hold no data, are served without it). Every answer carries a Content Security Policy that lets the page load only what this server serves.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import socket
import threading
from importlib import resources
from pathlib import Path

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gridplan.errors import GridplanError, InfeasibleError, InputError
from gridplan.io.store import redacted
from gridplan.settings import EDITOR
from gridplan.style import DEVIATION_COLOURS, GRID_COLOURS, MOVED_COLOUR, PAPER_COLOUR, STREET_COLOUR, WATER_COLOUR
from gridplan.vocabulary import EDITOR_WORDS, LANGUAGES, Claim, ClaimStatus, bracketed, check_language, label

from .session import EditRefused, EditSession, GridFigures

log = logging.getLogger(__name__)

#: What the page may load: only this server's own files and API.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: Leaflet from folium-offline's copies (the version folium 0.20 links), and the page's own files.
LEAFLET = {
    "leaflet.js": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
    "leaflet.css": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
}
PAGE_FILES = {"editor.js": "text/javascript", "editor.css": "text/css", "index.html": "text/html"}
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def create_app(
    session: EditSession, *, output: Path | str, token: str | None = None, lang: str = "zh", host: str = EDITOR.host
) -> Starlette:
    """The editor's web application over ``session``; saving writes to ``output``.

    Parameters
    ----------
    session
        The plan opened for editing.
    output
        Where ``POST /api/save`` writes the edited plan.
    token
        A secret every request must carry (None: none asked; only on loopback).
    lang
        The page's language (``zh`` or ``en``) and that of every message.
    host
        The address served on: the ``Host`` a request may name (with ``localhost`` and loopback).

    Raises
    ------
    InputError
        A host other than loopback without a token.
    """
    lang = check_language(lang)
    check_host(host, token)
    editor = _Editor(session, output, lang)
    routes = [
        Route("/", editor.page),
        Route("/static/{name}", editor.static),
        Route("/api/config", editor.config),
        Route("/api/scene", editor.scene),
        Route("/api/state", editor.state),
        Route("/api/metrics", editor.metrics),
        Route("/api/grids/{grid_id}", editor.grid),
        Route("/api/move", editor.move, methods=["POST"]),
        Route("/api/lock", editor.lock, methods=["POST"]),
        Route("/api/rebalance", editor.rebalance, methods=["POST"]),
        Route("/api/undo", editor.undo, methods=["POST"]),
        Route("/api/redo", editor.redo, methods=["POST"]),
        Route("/api/save", editor.save, methods=["POST"]),
    ]

    async def guard(request: Request, call_next):
        # the page and its scripts hold no data (a browser asks for them without the token); the API asks for it
        if token is not None and request.url.path.startswith("/api/"):
            given = request.headers.get("x-gridplan-token") or request.query_params.get("token") or ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return _secured(JSONResponse({"error": "token", "message": editor.word("bad_token")}, 403))
        return _secured(await call_next(request))

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=sorted({host, *LOOPBACK})),
            Middleware(BaseHTTPMiddleware, dispatch=guard),
        ],
        exception_handlers={HTTPException: editor.http_error, Exception: editor.internal_error},
    )


def token_for(host: str, token: str | None = None) -> str | None:
    """The token to serve with: the one given, else a new random one for a host other than loopback (none on
    loopback)."""
    return token or (None if host in LOOPBACK else secrets.token_urlsafe(18))


def check_host(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token."""
    if host not in LOOPBACK and not token:
        raise InputError(
            f"serving on {host} (not loopback) needs a token (--token)",
            zh=f"在 {host}（非本机回环地址）上提供服务需要令牌（--token）",
        )


class _Editor:
    """The endpoints, around one session; edits are made one at a time."""

    def __init__(self, session: EditSession, output: Path | str, lang: str):
        self.session, self.output, self.lang = session, output, lang
        self.lock_ = threading.Lock()
        self._scene: bytes | None = None

    def word(self, key: str, **fields) -> str:
        return EDITOR_WORDS[key][LANGUAGES.index(self.lang)].format(**fields)

    # pages

    def page(self, request: Request) -> Response:
        return self._file("index.html")

    def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name in LEAFLET:
            from offlinefolium.elements import _res as assets  # folium-offline's copies of folium's assets

            kind = "text/javascript" if name.endswith(".js") else "text/css"
            return Response(assets.get(LEAFLET[name]), media_type=kind)
        if name in PAGE_FILES and name != "index.html":
            return self._file(name)
        raise HTTPException(404)

    def _file(self, name: str) -> Response:
        text = resources.files("gridplan.editor").joinpath("static", name).read_text(encoding="utf-8")
        return Response(text, media_type=PAGE_FILES[name])

    def config(self, request: Request) -> Response:
        words = {k: v[LANGUAGES.index(self.lang)] for k, v in EDITOR_WORDS.items()}
        colours = {
            "grids": list(GRID_COLOURS),
            "water": WATER_COLOUR,
            "street": STREET_COLOUR,
            "paper": PAPER_COLOUR,
            "changed": MOVED_COLOUR,
            "outside": DEVIATION_COLOURS[-1],
        }
        return JSONResponse({"lang": self.lang, "poll_ms": EDITOR.poll_ms, "words": words, "colours": colours})

    # reading

    def scene(self, request: Request) -> Response:
        with self.lock_:
            if self._scene is None:
                self._scene = json.dumps(scene_layers(self.session), ensure_ascii=False).encode()
        return Response(self._scene, media_type="application/json")

    def state(self, request: Request) -> Response:
        since = request.query_params.get("since")
        with self.lock_:
            s = self.session
            if since is not None and since.isdigit() and int(since) == s.seq:
                return JSONResponse({"seq": s.seq})
            return JSONResponse(
                {
                    "seq": s.seq,
                    "unit_grid": s.atom_grids(),
                    "grids": [self.figures(g) for g in s.figures()],
                    "can_undo": bool(s.undo_stack),
                    "can_redo": bool(s.redo_stack),
                }
            )

    def metrics(self, request: Request) -> Response:
        with self.lock_:
            figures = [g for g in self.session.figures() if g.kind == "ordinary"]
            return JSONResponse(
                {
                    "seq": self.session.seq,
                    "grids": len(self.session.figures()),
                    "ordinary_grids": len(figures),
                    "within_bounds": sum(g.within_bounds for g in figures),
                    "within_tight": sum(g.within_tight for g in figures),
                    "edits": len(self.session.entries),
                }
            )

    def grid(self, request: Request) -> Response:
        grid_id = request.path_params["grid_id"]
        with self.lock_:
            if grid_id not in self.session.grid_ids:
                raise HTTPException(404, self.word("unknown_grid", grid=grid_id))
            figures = self.session.figures(grid_id)[0]
            return JSONResponse({**self.figures(figures), "neighbours": self.session.neighbours(grid_id)})

    def figures(self, figures: GridFigures) -> dict:
        """A grid's figures, with its claim in words where it is outside the bounds."""
        out = figures.as_dict() | {"colour": self.session.colour(figures.grid_id)}
        if figures.claim == Claim.BEST_FOUND:  # its label says it is not proven
            out["claim_label"] = label(figures.claim, self.lang)
        elif figures.claim:
            status = ClaimStatus.PROVEN if figures.proven else ClaimStatus.NOT_PROVEN
            out["claim_label"] = label(figures.claim, self.lang) + bracketed(label(status, self.lang), self.lang)
        return out

    # editing

    async def move(self, request: Request) -> Response:
        body = await self._body(request, {"to": str}, {"units": list, "buildings": list})
        return self._edit(
            lambda s: s.move(body["to"], units=body.get("units", []), buildings=body.get("buildings", []))
        )

    async def lock(self, request: Request) -> Response:
        body = await self._body(request, {"grid": str}, {"locked": bool})
        return self._edit(lambda s: s.lock(body["grid"], body.get("locked", True)))

    async def rebalance(self, request: Request) -> Response:
        body = await self._body(request, {"community": str})
        return self._edit(lambda s: s.rebalance(body["community"]))

    async def undo(self, request: Request) -> Response:
        await self._body(request, {})
        return self._edit(lambda s: s.undo())

    async def redo(self, request: Request) -> Response:
        await self._body(request, {})
        return self._edit(lambda s: s.redo())

    async def save(self, request: Request) -> Response:
        await self._body(request, {})
        with self.lock_:
            run, written = self.session.save(self.output, self.lang)
        return JSONResponse(
            {
                "written": [redacted(w) for w in written],
                "version": run.plan.provenance.plan_version,
                "fingerprint": run.plan.fingerprint(),
                "summary": run.changes.summary(self.lang),
            }
        )

    def _edit(self, make) -> Response:
        with self.lock_:
            try:
                result = make(self.session)
            except EditRefused as refused:
                return JSONResponse(
                    {"error": refused.code.value, "message": self._message(refused), "units": refused.units}, 409
                )
            except (InputError, InfeasibleError) as error:  # what the engine says of this scene: not ours
                return JSONResponse({"error": "input", "message": self._message(error)}, 400)
            return JSONResponse({**result.as_dict(), "touched": [self.figures(f) for f in result.touched]})

    async def _body(self, request: Request, required: dict, optional: dict | None = None) -> dict:
        """The request's JSON object, its fields of the types named; anything else a 400."""
        raw = await request.body()
        if len(raw) > EDITOR.max_body_bytes:
            raise HTTPException(413, self.word("too_large"))
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HTTPException(400, self.word("not_json")) from None
        if not isinstance(body, dict):
            raise HTTPException(400, self.word("not_object"))
        fields = {**required, **(optional or {})}
        for name, kind in fields.items():
            if name in required and name not in body:
                raise HTTPException(400, self.word("missing_field", field=name))
            if name in body and not (isinstance(body[name], kind) and (kind is bool or not _is_bool(body[name]))):
                raise HTTPException(400, self.word("wrong_field", field=name))
        unknown = sorted(set(body) - set(fields))
        if unknown:
            raise HTTPException(400, self.word("unknown_field", field=unknown[0]))
        for name in ("units", "buildings"):
            for value in body.get(name, []):
                if not isinstance(value, (int, str)) or _is_bool(value):
                    raise HTTPException(400, self.word("wrong_field", field=name))
        return body

    def _message(self, error: InputError | InfeasibleError) -> str:
        return error.zh if self.lang == "zh" and error.zh else str(error)

    # errors

    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else self.word("not_found")
        return _secured(JSONResponse({"error": "request", "message": message}, exc.status_code))

    async def internal_error(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, GridplanError):
            message = self._message(exc) if isinstance(exc, InputError) else str(exc)
            return _secured(JSONResponse({"error": "input", "message": message}, 400))
        log.exception("editor: %s %s failed", request.method, request.url.path)
        return _secured(JSONResponse({"error": "internal", "message": self.word("internal")}, 500))


def serve(app: Starlette, *, host: str = EDITOR.host, port: int = EDITOR.port, ready=None) -> None:
    """Serve ``app`` with uvicorn until interrupted; ``ready(url)`` is called once the socket listens (the port
    chosen by the system where ``port`` is 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise InputError(
            f"cannot serve on {host}:{port}: {exc.strerror}", zh=f"无法在 {host}:{port} 上提供服务：{exc.strerror}"
        ) from None
    sock.listen(64)
    bound = sock.getsockname()[1]
    if ready is not None:
        ready(f"http://{'[' + host + ']' if ':' in host else host}:{bound}/")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])


def scene_layers(session: EditSession) -> dict:
    """The units (with their positions, communities, households and kinds), buildings, streets and barriers, as
    GeoJSON in WGS84, simplified to a tenth (units) or a fifth (buildings) of a metre."""
    atoms = session.units.atoms
    units = atoms[["community_id", "kind", "geometry"]].assign(
        unit=np.arange(len(atoms)), households=np.round(session.atom_households, 1)
    )
    units["geometry"] = units.geometry.simplify(0.1)
    local = session.prepared.local
    layers = {"units": units.to_crs(4326)}
    layers["buildings"] = (
        local.buildings[["building_id", "geometry"]]
        .assign(geometry=local.buildings.geometry.simplify(0.2))
        .to_crs(4326)
    )
    layers["streets"] = local.streets[["geometry"]].to_crs(4326)
    if local.barriers is not None and len(local.barriers):
        layers["barriers"] = local.barriers[["geometry"]].to_crs(4326)
    out = {name: json.loads(frame.to_json(drop_id=True)) for name, frame in layers.items()}
    west, south, east, north = layers["units"].total_bounds
    out["bounds"] = [[south, west], [north, east]]
    return out


def _secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _is_bool(value) -> bool:
    return isinstance(value, bool)
