// gridplan's editor: units coloured by grid, moved by hand through the editor's API (gridplan/editor/server.py).
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("token");
  const editor = { state: null, selection: [], grid: null, unitLayers: [], words: {}, seq: -1, changed: new Set() };
  window.gridplanEditor = editor;

  function $(id) { return document.getElementById(id); }
  function w(key, fields) {
    let text = editor.words[key] || key;
    for (const [k, v] of Object.entries(fields || {})) text = text.split("{" + k + "}").join(v);
    return text;
  }
  async function api(path, method, body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers["X-Gridplan-Token"] = token;
    const response = await fetch(path, { method: method || "GET", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body) });
    return { ok: response.ok, status: response.status, data: await response.json() };
  }
  function colour(gridId) {  // the server keeps touching grids apart
    const g = editor.byId[gridId];
    return editor.colours.grids[g ? g.colour : 0];
  }
  function say(text, kind) {
    const m = $("message");
    m.textContent = text;
    m.className = kind || "";
  }

  function style(unit) {
    const gridId = editor.state.unit_grid[unit];
    const selected = editor.selection.includes(unit);
    const inGrid = gridId === editor.grid;
    const changed = editor.changed.has(unit);
    const kind = editor.unitKinds[unit];
    const g = editor.byId[gridId];
    const outside = g && g.kind === "ordinary" && !g.within_bounds;  // outlined as the panel lists them
    return {
      fillColor: kind === "water" ? editor.colours.water : colour(gridId),
      fillOpacity: 0.6,
      color: selected ? "#000" : changed ? editor.colours.changed : inGrid ? "#333" : outside ? editor.colours.outside : "#fff",
      weight: selected ? 3 : changed ? 2.5 : inGrid ? 1.5 : outside ? 1.2 : 0.5,
      dashArray: changed && !selected ? "4 3" : null,
    };
  }
  function restyle(units) {
    for (const u of units) editor.unitLayers[u].setStyle(style(u));
  }
  function restyleAll() {
    editor.unitLayers.forEach(function (layer, u) { layer.setStyle(style(u)); });
  }

  function figuresOf(gridId) {
    return editor.byId[gridId];
  }
  function row(label, value) {
    return "<tr><td>" + label + "</td><td class=value>" + value + "</td></tr>";
  }
  function escape(text) {
    return String(text).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }

  async function showGrid(gridId) {
    editor.grid = gridId;
    const card = $("grid-card");
    if (!gridId) { card.hidden = true; return; }
    const answer = await api("api/grids/" + encodeURIComponent(gridId));
    if (!answer.ok) { card.hidden = true; say(answer.data.message, "refused"); return; }
    const g = answer.data;
    card.hidden = false;
    $("grid-name").textContent = w("grid") + " " + g.grid_id + (g.locked ? w("locked_mark") : "");
    $("grid-figures").innerHTML =
      row(w("community"), escape(g.community_id)) +
      row(w("households"), "<span id=grid-households>" + Math.round(g.households) + "</span>") +
      row(w("deviation"), (g.deviation * 100).toFixed(1) + "%") +
      row(w("radius"), Math.round(g.service_radius_m)) +
      row(w("alignment"), (g.street_alignment * 100).toFixed(0) + "%") +
      row(w("units"), g.units);
    const households = editor.selection.reduce(function (s, u) { return s + editor.unitHouseholds[u]; }, 0);
    $("selection").textContent = editor.selection.length
      ? w("selected", { units: editor.selection.length, households: Math.round(households) }) : "";
    const box = $("neighbours");
    box.innerHTML = "";
    for (const n of g.neighbours) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.grid = n;
      const f = figuresOf(n);
      // locked and special grids are marked, not hidden: a move to one is answered with its reason
      b.textContent = "→ " + n + (f ? " (" + Math.round(f.households) + ")" : "") +
        (f && f.locked ? " 🔒" : "") + (f && f.kind === "special" ? " ✕" : "");
      b.disabled = !editor.selection.length;
      b.addEventListener("click", function () { move(n); });
      box.appendChild(b);
    }
    $("lock").textContent = g.locked ? w("unlock") : w("lock");
    $("lock").dataset.locked = g.locked ? "1" : "";
  }

  function showRefusal(data) {
    say(data.message, "refused");
    const units = (data.units && data.units.length ? data.units : editor.selection);
    if (units.length) {
      const at = editor.unitLayers[units[0]].getBounds().getCenter();
      L.popup({ className: "refusal-popup" }).setLatLng(at).setContent(escape(data.message)).openOn(editor.map);
    }
  }

  async function edit(path, body, after) {
    const answer = await api(path, "POST", body);
    if (!answer.ok) {
      if (answer.status === 409) showRefusal(answer.data); else say(answer.data.message, "refused");
      return null;
    }
    editor.map.closePopup();
    editor.changed = new Set(answer.data.moved || []);  // what the edit changed, outlined until the next one
    await refresh();
    if (after) after(answer.data);
    return answer.data;
  }
  async function move(to) {
    await edit("api/move", { to: to, units: editor.selection }, function (data) {
      say(w("moved", { units: data.moved.length }), "done");
      editor.selection = [];
      showGrid(to).then(restyleAll);
    });
  }

  async function refresh() {
    const answer = await api("api/state?since=" + editor.seq);
    if (!answer.ok || answer.data.seq === editor.seq && editor.state) return;
    const full = answer.data.unit_grid ? answer.data : (await api("api/state")).data;
    editor.state = full;
    editor.byId = Object.fromEntries(full.grids.map(function (g) { return [g.grid_id, g]; }));
    editor.seq = full.seq;
    restyleAll();
    $("undo").disabled = !full.can_undo;
    $("redo").disabled = !full.can_redo;
    $("edits").textContent = w("edits", { seq: full.seq });
    const outside = full.grids.filter(function (g) { return g.kind === "ordinary" && !g.within_bounds; });
    const list = $("outside");
    list.innerHTML = "";
    if (!outside.length) list.innerHTML = "<li class=none>" + escape(w("none_outside")) + "</li>";
    for (const g of outside) {
      const li = document.createElement("li");
      li.textContent = g.grid_id + ": " + Math.round(g.households) + (g.claim_label ? " · " + g.claim_label : "");
      li.addEventListener("click", function () { focusGrid(g.grid_id); });
      list.appendChild(li);
    }
    if (editor.grid) await showGrid(editor.grid);
  }
  function focusGrid(gridId) {
    const units = editor.state.unit_grid.flatMap(function (g, u) { return g === gridId ? [u] : []; });
    if (!units.length) return;
    const bounds = L.latLngBounds([]);
    for (const u of units) bounds.extend(editor.unitLayers[u].getBounds());
    editor.map.fitBounds(bounds, { maxZoom: 18 });
    editor.selection = [];
    showGrid(gridId).then(restyleAll);
  }

  function painting(event) {
    return event.originalEvent.ctrlKey || event.originalEvent.metaKey;
  }
  function paint(unit) {  // the brush: Ctrl-drag adds every unit it passes over
    if (editor.selection.includes(unit)) return;
    if (!editor.selection.length) editor.grid = editor.state.unit_grid[unit];
    editor.selection.push(unit);
    editor.unitLayers[unit].setStyle(style(unit));
  }
  function clickUnit(unit, event) {
    const gridId = editor.state.unit_grid[unit];
    if (painting(event)) return;  // the brush has taken it
    if (event.originalEvent.shiftKey && editor.selection.length) {
      const at = editor.selection.indexOf(unit);
      if (at >= 0) editor.selection.splice(at, 1); else editor.selection.push(unit);
    } else {
      editor.selection = [unit];
      editor.grid = gridId;
    }
    showGrid(editor.grid).then(restyleAll);
  }

  // where a unit is on the screen (for tests that click it with the mouse)
  editor.unitPoint = function (unit) {
    const layer = editor.unitLayers[unit];
    const rings = layer.getLatLngs();
    let ring = rings;
    while (Array.isArray(ring[0])) ring = ring[0];
    let inside = layer.getBounds().getCenter();
    // the centre of the bounds may lie outside an odd shape: take a point of the polygon instead
    const poly = L.polygon(ring);
    if (!contains(ring, inside)) inside = interiorPoint(ring, poly);
    return editor.map.latLngToContainerPoint(inside);
  };
  function contains(ring, p) {
    let c = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const a = ring[i], b = ring[j];
      if ((a.lat > p.lat) !== (b.lat > p.lat) &&
          p.lng < (b.lng - a.lng) * (p.lat - a.lat) / (b.lat - a.lat) + a.lng) c = !c;
    }
    return c;
  }
  function interiorPoint(ring, poly) {
    const b = poly.getBounds();
    for (let i = 1; i < 20; i++) {
      for (let j = 1; j < 20; j++) {
        const p = L.latLng(b.getSouth() + (b.getNorth() - b.getSouth()) * i / 20,
          b.getWest() + (b.getEast() - b.getWest()) * j / 20);
        if (contains(ring, p)) return p;
      }
    }
    return b.getCenter();
  }

  async function start() {
    const config = (await api("api/config")).data;
    editor.words = config.words;
    editor.colours = config.colours;
    $("map").style.background = config.colours.paper;
    document.documentElement.lang = config.lang === "zh" ? "zh-CN" : "en";
    document.title = w("title");
    $("title").textContent = w("title");
    $("help").textContent = w("help");
    $("give-label").textContent = w("give_to");
    $("rebalance").textContent = w("rebalance");
    $("undo").textContent = w("undo");
    $("redo").textContent = w("redo");
    $("save").textContent = w("save");
    $("outside-title").textContent = w("outside");
    const scene = (await api("api/scene")).data;
    const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
    editor.map = map;
    map.fitBounds(scene.bounds);
    editor.unitKinds = [];
    editor.unitHouseholds = [];
    editor.state = (await api("api/state")).data;
    editor.byId = Object.fromEntries(editor.state.grids.map(function (g) { return [g.grid_id, g]; }));
    editor.seq = editor.state.seq;
    L.geoJSON(scene.units, {
      style: function (f) { editor.unitKinds[f.properties.unit] = f.properties.kind; return {}; },
      onEachFeature: function (f, layer) {
        const u = f.properties.unit;
        editor.unitLayers[u] = layer;
        editor.unitKinds[u] = f.properties.kind;
        editor.unitHouseholds[u] = f.properties.households;
        layer.on("click", function (e) { clickUnit(u, e); });
        layer.on("mousedown", function (e) {
          if (!painting(e)) return;
          editor.brush = true;
          editor.map.dragging.disable();
          editor.selection = [];
          paint(u);
        });
        layer.on("mouseover", function () { if (editor.brush) paint(u); });
      },
    }).addTo(map);
    // buildings drawn over their units, not clickable: a click on one selects the unit it stands on
    L.geoJSON(scene.buildings, { style: { color: "#555", weight: 0.6, fillOpacity: 0 }, interactive: false }).addTo(map);
    if (scene.barriers) L.geoJSON(scene.barriers, { style: { color: "#1f78b4", weight: 3 }, interactive: false }).addTo(map);
    L.geoJSON(scene.streets, { style: { color: editor.colours.street, weight: 1 }, interactive: false }).addTo(map);
    editor.seq = -1;
    await refresh();
    $("undo").addEventListener("click", function () { edit("api/undo", {}, function () { say(w("undo"), "done"); }); });
    $("redo").addEventListener("click", function () { edit("api/redo", {}, function () { say(w("redo"), "done"); }); });
    $("lock").addEventListener("click", function () {
      edit("api/lock", { grid: editor.grid, locked: !$("lock").dataset.locked });
    });
    $("rebalance").addEventListener("click", function () {
      const g = figuresOf(editor.grid);
      if (g) edit("api/rebalance", { community: g.community_id }, function (d) {
        say(w("moved", { units: d.moved.length }), "done");
      });
    });
    $("save").addEventListener("click", async function () {
      const answer = await api("api/save", "POST", {});
      if (answer.ok) say(w("saved", { path: answer.data.written[0], version: answer.data.version }), "done");
      else say(answer.data.message, "refused");
    });
    map.on("mouseup", function () {
      if (!editor.brush) return;
      editor.brush = false;
      map.dragging.enable();
      showGrid(editor.grid).then(restyleAll);
    });
    setInterval(refresh, config.poll_ms);
    editor.ready = true;
    document.body.dataset.ready = "1";
  }
  start();
})();
