// mockverse dashboard: plain DOM code, no framework, no build step. Every call goes to this
// server's public /api/v1 endpoints (and /users for persona search); pages refresh by polling.
"use strict";

const POLL_MS = 2000;
const STATES = ["NewSignup", "Active", "ChurnRisk", "Churned", "UpgradePending", "PaymentFailed", "PowerUser"];
const DRIVERS = [
  ["schema_similarity", "Schema Match"],
  ["sample_similarity", "Sample Similarity"],
  ["response_time_similarity", "Response Time Match"],
  ["error_pattern_similarity", "Error Pattern Match"],
];
const SOURCES = ["synthetic", "recorded", "upstream", "blend"];
const PERSONA = { type: "user", segment: "users" };
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  page: "fidelity",
  arg: null,
  ws: "default",
  token: sessionStorage.getItem("mockverse.token") || "",
  lastPersona: sessionStorage.getItem("mockverse.persona"),
  timer: null,
  ticking: false,
};

// -- small helpers ------------------------------------------------------------------------------

function $(testid, root = document) {
  return root.querySelector(`[data-testid="${testid}"]`);
}

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "testid") node.setAttribute("data-testid", value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function enc(text) {
  return encodeURIComponent(text);
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** A virtual timestamp in UTC, e.g. "2026-01-08 00:00 UTC" (the world's time is not the viewer's). */
function fmtTime(iso, seconds = false) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${base}${seconds ? ":" + pad(d.getUTCSeconds()) : ""} UTC`;
}

function fmtDuration(totalSeconds) {
  let s = Math.max(0, Math.round(Number(totalSeconds) || 0));
  const parts = [];
  for (const [unit, size] of [["y", 365 * 86400], ["d", 86400], ["h", 3600], ["m", 60]]) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 2).join(" ") || `${s}s`;
}

function fmtValue(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function bandOf(fraction) {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "none";
  return fraction >= 0.8 ? "high" : fraction >= 0.6 ? "medium" : "low";
}

function percentOf(value) {
  return Math.round(value * 1000) / 10;
}

/** A score as the percentage shown beside its colour: cut (never rounded up) to one decimal, so
 * 0.795 reads 79.5% in the colour of 79.5% (orange), never "80%" below the 80% line. */
function scorePercent(value) {
  return Math.floor(value * 1000 + 1e-9) / 10;
}

function showMessage(testid, text, kind = "error") {
  const node = $(testid);
  if (!node) return;
  node.hidden = !text;
  node.textContent = text || "";
  node.className = `message ${kind}`;
}

function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// -- the API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    // The route itself is absent (an older server, or a feature not wired yet): not an error in the data.
    this.missing = (status === 404 || status === 405) && ["No route", "Method not allowed"].includes(this.problem.title);
  }
}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const all = { Accept: "application/json", "X-Mockverse-Workspace": state.ws, ...headers };
  // admin writes must say JSON even without a body (a page on another origin cannot send that unasked)
  if (body !== undefined || method !== "GET") all["Content-Type"] = "application/json";
  if (state.token && method !== "GET") all.Authorization = `Bearer ${state.token}`;
  const res = await fetch(path, {
    method,
    headers: all,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "same-origin",
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 300) };
  }
  if (!res.ok) {
    if (res.status === 401 || res.status === 403) askForToken(data);
    throw new ApiError(res.status, data);
  }
  return { data, headers: res.headers, status: res.status };
}

function problemText(err) {
  if (!(err instanceof ApiError)) return `The server could not be reached (${err.message}).`;
  const p = err.problem;
  let text = p.detail || p.title || `HTTP ${err.status}`;
  if (p.field) text += ` (field: ${p.field})`;
  if (Array.isArray(p.allowed) && p.allowed.length) text += ` — allowed: ${p.allowed.slice(0, 12).join(", ")}`;
  return text;
}

function askForToken(problem) {
  const bar = $("token-bar");
  bar.hidden = false;
  const span = bar.querySelector("span");
  span.textContent = (problem && problem.detail) || "This server needs its admin token for changes.";
}

// -- routing, workspace and polling -------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  return { page: parts[0] || "fidelity", arg: parts.slice(1).join("/") || null, ws: params.get("ws") };
}

function href(page, arg = null, ws = state.ws) {
  return `#/${page}${arg ? "/" + enc(arg) : ""}?ws=${enc(ws)}`;
}

const PAGES = {};

function onRoute() {
  const route = parseHash();
  const page = PAGES[route.page] ? route.page : "fidelity";
  const ws = (route.ws || localStorage.getItem("mockverse.workspace") || "default").trim() || "default";
  const changedWs = ws !== state.ws;
  state.page = page;
  state.arg = route.arg;
  state.ws = ws;
  localStorage.setItem("mockverse.workspace", ws);
  rememberWorkspace(ws);
  $("workspace-input").value = ws;
  for (const section of document.querySelectorAll("section.page")) section.hidden = section.dataset.page !== page;
  for (const link of document.querySelectorAll(".tabs a")) {
    link.classList.toggle("active", link.dataset.page === page);
    link.setAttribute("href", href(link.dataset.page, link.dataset.page === "personas" ? state.lastPersona : null));
  }
  $("brand").setAttribute("href", href("fidelity"));
  if (changedWs) for (const p of Object.values(PAGES)) if (p.reset) p.reset();
  if (PAGES[page].enter) PAGES[page].enter(route.arg);
  tick();
}

function rememberWorkspace(ws) {
  const known = new Set(JSON.parse(localStorage.getItem("mockverse.workspaces") || '["default"]'));
  known.add(ws);
  localStorage.setItem("mockverse.workspaces", JSON.stringify([...known].slice(-50)));
  renderWorkspaceList(known);
}

function renderWorkspaceList(names) {
  const list = clear(document.getElementById("workspace-list"));
  for (const name of [...names].sort()) list.append(el("option", { value: name }));
}

async function discoverWorkspaces() {
  try {
    const { data } = await api("/api/v1/requests?limit=1000");
    const known = new Set(JSON.parse(localStorage.getItem("mockverse.workspaces") || '["default"]'));
    for (const entry of data.requests || []) if (entry.workspace) known.add(entry.workspace);
    localStorage.setItem("mockverse.workspaces", JSON.stringify([...known].slice(-50)));
    renderWorkspaceList(known);
  } catch {
    /* the switcher still takes any typed name */
  }
}

function setLive(ok) {
  const live = $("live");
  live.classList.toggle("ok", ok);
  live.classList.toggle("down", !ok);
  live.textContent = ok ? "live" : "offline";
}

async function tick() {
  clearTimeout(state.timer);
  if (state.ticking) {
    state.timer = setTimeout(tick, 100);
    return;
  }
  state.ticking = true;
  try {
    if (!document.hidden) {
      await Promise.all([refreshHeaderClock(), PAGES[state.page].refresh()]);
      setLive(true);
    }
  } catch (err) {
    if (!(err instanceof ApiError)) console.warn("mockverse dashboard: refresh failed", err);
    setLive(err instanceof ApiError);
  } finally {
    state.ticking = false;
    state.timer = setTimeout(tick, POLL_MS);
  }
}

async function refreshHeaderClock() {
  const ws = state.ws;
  try {
    const { data } = await api("/api/v1/consistency/clock");
    if (ws !== state.ws) return;
    $("header-clock").textContent = fmtTime(data.now);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
}

// -- fidelity -----------------------------------------------------------------------------------

PAGES.fidelity = {
  async refresh() {
    const ws = state.ws;
    const base = `/api/v1/workspace/${enc(ws)}/fidelity`;
    const [latest, history] = await Promise.allSettled([api(base), api(`${base}/history`)]);
    if (ws !== state.ws) return;
    for (const r of [latest, history]) if (r.status === "rejected" && !(r.reason instanceof ApiError)) throw r.reason;
    renderFidelity(latest.status === "fulfilled" ? latest.value.data : null, latest.reason);
    renderHistory(history.status === "fulfilled" ? history.value.data : null, history.reason);
  },
};

function scoreOf(payload) {
  return payload && (payload.score || payload);
}

// The answer to the last "Compute from traffic", kept on screen across polls.
const fidelityNote = { ws: null, text: "", kind: "info" };

function renderFidelity(payload, err) {
  const overall = $("fidelity-overall");
  const compute = $("fidelity-compute");
  const score = scoreOf(payload);
  if (!score) {
    overall.textContent = "–";
    overall.className = "overall fidelity-none";
    $("fidelity-band").textContent = "no score yet";
    $("fidelity-computed-at").textContent = "never";
    $("fidelity-coverage").textContent = "";
    renderDrivers(null);
    renderFindings([]);
    if (err && err.missing) {
      compute.disabled = true;
      showMessage("fidelity-message", `The fidelity API is not available on this server (GET /api/v1/workspace/${state.ws}/fidelity answers "${err.problem.title}").`, "warn");
    } else {
      compute.disabled = false;
      const hint = err ? problemText(err) : "No score yet.";
      if (fidelityNote.ws === state.ws && fidelityNote.text) showMessage("fidelity-message", fidelityNote.text, fidelityNote.kind);
      else showMessage("fidelity-message", `${hint} Serve and record some traffic in workspace "${state.ws}", then press “Compute from traffic”.`, "info");
    }
    return;
  }
  compute.disabled = false;
  showMessage("fidelity-message", fidelityNote.ws === state.ws ? fidelityNote.text : "", fidelityNote.kind);
  const value = typeof score.overall === "number" ? score.overall : null;
  const pct = value === null ? null : scorePercent(value);
  const band = bandOf(value);
  overall.textContent = pct === null ? "–" : `${pct}%`;
  overall.className = `overall fidelity-${band === "none" ? "none" : band}`;
  $("fidelity-card").dataset.band = band;
  $("fidelity-band").textContent = value === null ? "nothing could be computed" : `${band} fidelity`;
  $("fidelity-computed-at").textContent = fmtTime(score.computed_at, true);
  const bits = [];
  if (typeof score.coverage === "number") bits.push(`coverage ${percentOf(score.coverage)}%`);
  if (typeof score.confidence === "number") bits.push(`confidence ${percentOf(score.confidence)}%`);
  if (score.source) bits.push(`from ${score.source}`);
  $("fidelity-coverage").textContent = bits.join(" · ");
  renderDrivers(score.driver_metrics || {});
  renderFindings(Array.isArray(score.findings) ? score.findings : []);
}

function renderDrivers(metrics) {
  const list = clear($("fidelity-drivers"));
  for (const [key, fallbackLabel] of DRIVERS) {
    const m = metrics ? metrics[key] || { value: null, reason: "not reported by the server" } : null;
    const label = (m && m.label) || fallbackLabel;
    const hasValue = m && typeof m.value === "number";
    const pct = hasValue ? scorePercent(m.value) : null;
    const fill = el("span", { class: `fill fidelity-${hasValue ? bandOf(m.value) : "none"}` });
    fill.style.width = hasValue ? `${Math.max(0, Math.min(100, m.value * 100))}%` : "0";
    const item = el("li", { class: `driver ${hasValue ? "" : "driver-null"}`, testid: `driver-${key}` },
      el("div", { class: "driver-head" },
        el("span", { class: "driver-label", text: label }),
        el("span", { class: "driver-pct", testid: `driver-${key}-value`, text: hasValue ? `${pct}%` : "n/a" })),
      el("div", { class: "bar" }, fill));
    if (m && !hasValue) {
      item.append(el("div", { class: "driver-reason", testid: `driver-${key}-reason`,
        text: `Not computed: ${m.reason || "no reason given"}` }));
    } else if (m && m.reason) {
      item.append(el("div", { class: "driver-reason muted", text: m.reason }));
    }
    const detail = hasValue ? driverDetail(key, m.details || {}) : "";
    if (detail) item.append(el("div", { class: "driver-detail muted", testid: `driver-${key}-detail`, text: detail }));
    list.append(item);
  }
}

/** One line of a driver's details: latency percentiles, error rates, node counts. */
function driverDetail(key, d) {
  const ms = (v) => (typeof v === "number" ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : "–");
  const rate = (v) => (typeof v === "number" ? `${percentOf(v)}%` : "–");
  if (key === "response_time_similarity" && d.mock && d.real) {
    return `p50 ${ms(d.mock.p50)} vs ${ms(d.real.p50)} real · p95 ${ms(d.mock.p95)} vs ${ms(d.real.p95)} · p99 ${ms(d.mock.p99)} vs ${ms(d.real.p99)}`;
  }
  if (key === "error_pattern_similarity" && ("mock_error_rate" in d || "real_error_rate" in d)) {
    return `error rate ${rate(d.mock_error_rate)} vs ${rate(d.real_error_rate)} real`;
  }
  if (key === "schema_similarity" && typeof d.nodes === "number") return `${d.nodes} schema nodes compared`;
  if (key === "sample_similarity" && typeof d.paths === "number") return `${d.paths} JSON paths compared`;
  return "";
}

function findingLoss(f) {
  for (const key of ["points_lost", "points", "loss_points", "loss"]) if (typeof f[key] === "number") return f[key];
  return null;
}

function renderFindings(findings) {
  const body = clear($("fidelity-findings").querySelector("tbody"));
  const labels = Object.fromEntries(DRIVERS);
  const worst = [...findings].sort((a, b) => (findingLoss(b) || 0) - (findingLoss(a) || 0)).slice(0, 12);
  if (!worst.length) {
    body.append(el("tr", {}, el("td", { colspan: 6, class: "muted", text: "No findings: nothing differs, or no score yet." })));
    return;
  }
  for (const f of worst) {
    const loss = findingLoss(f);
    body.append(el("tr", { testid: "finding-row" },
      el("td", {}, el("code", { text: f.path || "$" })),
      el("td", { text: labels[f.driver] || f.driver || "" }),
      el("td", {}, el("span", { class: "pill", text: f.code || "" }), " ", f.message || f.what || ""),
      el("td", { class: "val", text: fmtValue(f.mock) }),
      el("td", { class: "val", text: fmtValue(f.real) }),
      el("td", { class: "num", text: loss === null ? "–" : `${(loss * 100).toFixed(1)}` })));
  }
}

function historyPoints(payload) {
  const list = Array.isArray(payload) ? payload : (payload && (payload.history || payload.scores || payload.items)) || [];
  return list.map(scoreOf).filter((s) => s && typeof s.overall === "number")
    .map((s) => ({ t: s.computed_at, v: s.overall }));
}

function renderHistory(payload, err) {
  const box = clear($("fidelity-history"));
  if (err && err.missing) {
    box.append(el("p", { class: "muted", text: "The fidelity history API is not available on this server." }));
    $("fidelity-history-count").textContent = "";
    return;
  }
  const points = historyPoints(payload);
  $("fidelity-history-count").textContent = points.length ? `${points.length} score${points.length > 1 ? "s" : ""}` : "";
  if (!points.length) {
    box.append(el("p", { class: "muted", text: "No scores yet." }));
    return;
  }
  box.append(lineChart(points, Math.max(300, Math.min(900, box.clientWidth || 600))));
}

/** An SVG line chart of scores (0..1) with the 60% and 80% band lines. */
function lineChart(points, W = 600) {
  const H = 220, L = 40, R = 12, T = 12, B = 28; // drawn at the box's width, so text keeps its size
  const x = (i) => (points.length === 1 ? L + (W - L - R) / 2 : L + (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (1 - v) * (H - T - B);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, class: "line-chart", role: "img",
    "aria-label": "Fidelity score over time" });
  for (const [v, cls] of [[0.8, "band-line high"], [0.6, "band-line medium"]]) {
    svg.append(el("svg:line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: cls }));
  }
  for (const v of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    svg.append(el("svg:text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end", text: `${v * 100}%` }));
  }
  svg.append(el("svg:line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis-line" }));
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  svg.append(el("svg:path", { d: path, class: "series" }));
  points.forEach((p, i) => {
    const dot = el("svg:circle", { cx: x(i), cy: y(p.v), r: 5, class: `dot fidelity-${bandOf(p.v)}`,
      testid: "history-point" });
    dot.append(el("svg:title", { text: `${Math.round(p.v * 100)}% at ${fmtTime(p.t, true)}` }));
    svg.append(dot);
  });
  const first = points[0], last = points[points.length - 1];
  const close = Math.abs(new Date(last.t) - new Date(first.t)) < 86400e3; // within a day: show seconds
  svg.append(el("svg:text", { x: L, y: H - 8, class: "axis", text: fmtTime(first.t, close) }));
  const lastText = close ? fmtTime(last.t, true).slice(11) : fmtTime(last.t); // same day: the time is enough
  if (points.length > 1) svg.append(el("svg:text", { x: W - R, y: H - 8, class: "axis", "text-anchor": "end", text: lastText }));
  return svg;
}

async function computeFromTraffic() {
  const button = $("fidelity-compute");
  button.disabled = true;
  button.textContent = "Computing…";
  try {
    const { data } = await api(`/api/v1/workspace/${enc(state.ws)}/fidelity`, { method: "POST", body: { source: "traffic" } });
    Object.assign(fidelityNote, { ws: state.ws, text: "Computed from this workspace's traffic.", kind: "ok" });
    renderFidelity(data, null);
  } catch (err) {
    const text = err.missing ? "The fidelity API is not available on this server." : problemText(err);
    Object.assign(fidelityNote, { ws: state.ws, text: `Compute from traffic: ${text}`, kind: "error" });
    showMessage("fidelity-message", fidelityNote.text, "error");
  } finally {
    button.textContent = "Compute from traffic";
    button.disabled = false;
    tick();
  }
}

// -- personas -----------------------------------------------------------------------------------

const personas = {
  users: null,        // every persona of the workspace, loaded once for name search
  total: null,
  ref: null,
  lifecycleText: null,
  graphText: null,
  graphKey: null,
  selected: null,
  picked: false,      // the user chose a state in the menu: a load finishing later must not undo the choice
  loads: 0,           // loads started: only the latest may draw (a poll started before a change answers late)
};

PAGES.personas = {
  reset() {
    clear($("persona-results"));
    personas.users = null;
    personas.ref = null;
    personas.lifecycleText = personas.graphText = personas.graphKey = null;
    personas.picked = false;
  },
  enter(arg) {
    if (arg !== personas.ref) {
      personas.ref = arg;
      personas.lifecycleText = personas.graphText = personas.graphKey = personas.selected = null;
      personas.picked = false;
      clear($("entity-json"));
      $("entity-title").textContent = "Click a node to open its JSON.";
      showMessage("persona-message", "");
    }
    if (arg) {
      state.lastPersona = arg;
      sessionStorage.setItem("mockverse.persona", arg);
    }
    $("persona-empty").hidden = !!arg;
    document.querySelector(".persona-body").hidden = !arg;
    if (!$("persona-results").childElementCount) search();
  },
  async refresh() {
    if (personas.ref) await loadPersona(personas.ref);
  },
};

function parseRef(text) {
  const t = String(text).trim();
  const m = /^(?:([A-Za-z_][\w-]*):)?(\d+)$/.exec(t);
  if (!m) return null;
  return { type: m[1] || PERSONA.type, id: m[2], ref: `${m[1] || PERSONA.type}:${m[2]}` };
}

async function allPersonas() {
  if (personas.users) return personas.users;
  const users = [];
  const per = 1000;
  for (let page = 1; page <= 20; page++) {
    // The persona world itself, not a blend with recordings: ask for ratio 0 on this one request.
    const { data, headers } = await api(`/${PERSONA.segment}?_page=${page}&_per_page=${per}`,
      { headers: { "X-Mockverse-Reality": "0" } });
    const items = Array.isArray(data) ? data : data.items || data.data || [];
    users.push(...items);
    personas.total = Number(headers.get("X-Total-Count")) || users.length;
    if (items.length < per || users.length >= personas.total) break;
  }
  personas.users = users;
  return users;
}

function displayName(data) {
  if (!data) return "";
  return data.name || [data.first_name, data.last_name].filter(Boolean).join(" ") || data.username || data.email || "";
}

const search = debounce(async () => {
  const q = $("persona-search").value.trim();
  const ws = state.ws;
  const list = $("persona-results");
  const note = $("persona-results-note");
  let results = [];
  try {
    const ref = parseRef(q);
    if (ref) {
      try {
        const { data } = await api(`/api/v1/consistency/entities/${enc(ref.type)}/${enc(ref.id)}`);
        results = [{ ref: ref.ref, data: data.data }];
        note.textContent = "";
      } catch (err) {
        note.textContent = err instanceof ApiError ? problemText(err) : String(err);
      }
    } else if (!q) {
      const { data, headers } = await api(`/${PERSONA.segment}?_page=1&_per_page=25`, { headers: { "X-Mockverse-Reality": "0" } });
      const items = Array.isArray(data) ? data : data.items || data.data || [];
      results = items.map((u) => ({ ref: `${PERSONA.type}:${u.id}`, data: u }));
      note.textContent = `${headers.get("X-Total-Count") || items.length} personas; type a name or an id`;
    } else {
      const users = await allPersonas();
      const needle = q.toLowerCase();
      const hits = users.filter((u) => `${displayName(u)} ${u.email || ""}`.toLowerCase().includes(needle));
      results = hits.slice(0, 50).map((u) => ({ ref: `${PERSONA.type}:${u.id}`, data: u }));
      note.textContent = `${hits.length} match${hits.length === 1 ? "" : "es"}${hits.length > 50 ? " (first 50 shown)" : ""}`
        + (personas.total > users.length ? ` among the first ${users.length} of ${personas.total} personas` : "");
    }
  } catch (err) {
    note.textContent = err.missing ? `This world has no /${PERSONA.segment} collection to search.` : problemText(err);
  }
  if (ws !== state.ws) return;
  clear(list);
  for (const r of results) {
    const stateName = r.data && r.data.lifecycle_state;
    list.append(el("li", {},
      el("a", { href: href("personas", r.ref), testid: "persona-result", "data-ref": r.ref,
        class: r.ref === personas.ref ? "active" : "" },
        el("span", { class: "result-name", text: displayName(r.data) || r.ref }),
        el("span", { class: "result-meta" }, el("code", { text: r.ref }),
          stateName ? el("span", { class: `state-badge small state-${stateName}`, text: stateName }) : null))));
  }
}, 200);

async function loadPersona(ref) {
  const ws = state.ws;
  const load = ++personas.loads;
  const current = () => ws === state.ws && ref === personas.ref && load === personas.loads;
  const parsed = parseRef(ref);
  if (!parsed) {
    showMessage("persona-message", `'${ref}' is not a persona reference such as user:123.`);
    return;
  }
  let entity, lifecycle;
  try {
    [entity, lifecycle] = await Promise.all([
      api(`/api/v1/consistency/entities/${enc(parsed.type)}/${enc(parsed.id)}`),
      api(`/api/v1/consistency/persona/${enc(parsed.ref)}/lifecycle`),
    ]);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (current()) showMessage("persona-message", problemText(err));
    return;
  }
  if (!current()) return;
  const data = entity.data.data || {};
  const life = lifecycle.data;
  $("persona-name").textContent = displayName(data) || parsed.ref;
  $("persona-ref").textContent = parsed.ref;
  const badge = $("persona-state");
  badge.textContent = life.lifecycle_state || life.state;
  badge.className = `state-badge state-${life.lifecycle_state || life.state}`;
  $("persona-entered").textContent = fmtTime(life.entered_at);
  $("persona-duration").textContent = typeof life.time_in_state_seconds === "number" ? `(${fmtDuration(life.time_in_state_seconds)})` : "";
  $("persona-next").textContent = nextTransitionText(life.next_transition);
  renderFields(data);
  const lifeText = JSON.stringify(life);
  if (lifeText !== personas.lifecycleText) {
    const first = personas.lifecycleText === null;
    personas.lifecycleText = lifeText;
    renderHistoryList(life.history || []);
    renderMetadata(life.metadata || {});
    if (first && !personas.picked) $("lifecycle-select").value = life.lifecycle_state || life.state;
  }
  const depth = $("graph-depth").value;
  const graphKey = `${lifeText}|${depth}|${JSON.stringify(data)}`;
  if (graphKey !== personas.graphKey) {
    personas.graphKey = graphKey;
    try {
      const { data: graph } = await api(`/api/v1/consistency/graph/${enc(parsed.ref)}?depth=${depth}`);
      if (!current()) {
        if (personas.graphKey === graphKey) personas.graphKey = null;   // the later load draws it
        return;
      }
      const text = JSON.stringify(graph);
      if (text !== personas.graphText) {
        personas.graphText = text;
        drawGraph($("persona-graph"), graph, data);
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      clear($("persona-graph")).append(el("p", { class: "muted", text: problemText(err) }));
    }
  }
}

function nextTransitionText(next) {
  if (!next) return ""; // the server names the next transition when it knows one
  if (typeof next !== "object") return `Next: ${next}`;
  const to = next.state || next.to || next.lifecycle_state;
  const at = next.at || next.due_at || next.when;
  return `Next: ${to || "?"}${at ? " at " + fmtTime(at) : ""}${next.rule ? " (" + (next.rule.name || JSON.stringify(next.rule)) + ")" : ""}`;
}

function renderFields(data) {
  const body = clear($("persona-fields").querySelector("tbody"));
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value) && value.length && typeof value[0] === "object") continue; // embedded relations: see the graph
    body.append(el("tr", {}, el("th", { text: key }), el("td", { class: "val", text: fmtValue(value) })));
  }
}

function renderHistoryList(history) {
  const list = clear($("persona-history"));
  $("persona-history-count").textContent = `${history.length} entr${history.length === 1 ? "y" : "ies"}`;
  history.forEach((h, i) => {
    list.append(el("li", { testid: "history-entry", class: i === history.length - 1 ? "current" : "" },
      el("span", { class: `state-badge small state-${h.state}`, text: h.state }),
      el("time", { text: fmtTime(h.entered_at) }),
      h.source ? el("span", { class: "muted small", text: h.source }) : null));
  });
}

function renderMetadata(metadata) {
  const body = clear($("persona-metadata").querySelector("tbody"));
  const entries = Object.entries(metadata);
  if (!entries.length) body.append(el("tr", {}, el("td", { class: "muted", text: "no metadata" })));
  for (const [key, value] of entries) {
    body.append(el("tr", {}, el("th", { text: key }), el("td", { class: "val", text: fmtValue(value) })));
  }
}

async function setLifecycle(event) {
  event.preventDefault();
  const target = $("lifecycle-select").value;
  const button = $("lifecycle-apply");
  button.disabled = true;
  try {
    const { data } = await api("/api/v1/consistency/persona/lifecycle", {
      method: "POST", body: { workspace_id: state.ws, persona_id: personas.ref, lifecycle_state: target },
    });
    showMessage("persona-message", `${data.persona_id} is now ${data.lifecycle_state} (since ${fmtTime(data.entered_at)}).`, "ok");
    personas.lifecycleText = null;
    personas.picked = false;
    personas.users = null; // list badges change with it
    await loadPersona(personas.ref);
  } catch (err) {
    showMessage("persona-message", problemText(err));
  } finally {
    button.disabled = false;
  }
}

async function setMetadata(event) {
  event.preventDefault();
  const key = $("metadata-key").value.trim();
  const raw = $("metadata-value").value.trim();
  if (!key) return;
  let value = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* plain text */
  }
  try {
    await api(`/api/v1/consistency/persona/${enc(personas.ref)}/lifecycle`, { method: "PATCH", body: { metadata: { [key]: value } } });
    $("metadata-key").value = $("metadata-value").value = "";
    personas.lifecycleText = null;
    await loadPersona(personas.ref);
  } catch (err) {
    showMessage("persona-message", problemText(err));
  }
}

const TYPE_COLOURS = ["#2563eb", "#7c3aed", "#14b8a6", "#db2777", "#ea580c", "#ca8a04", "#0891b2", "#16a34a"];
function typeColour(type) {
  const fixed = { user: 0, order: 1, order_item: 2, payment: 3, device: 4 };
  if (type in fixed) return TYPE_COLOURS[fixed[type]];
  let h = 0;
  for (const c of type) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return TYPE_COLOURS[h % TYPE_COLOURS.length];
}

/** A radial tree: the persona in the middle, each ring one edge further, sectors sized by leaves. */
function drawGraph(box, graph, rootData) {
  clear(box);
  const rootRef = graph.root;
  const nodes = new Map([[rootRef, { ref: rootRef, type: rootRef.split(":")[0], distance: 0, data: rootData }]]);
  for (const n of graph.nodes || []) nodes.set(n.ref, n);
  const children = new Map();
  const parent = new Map([[rootRef, null]]);
  const queue = [rootRef];
  const adjacency = new Map();
  for (const e of graph.edges || []) {
    if (!adjacency.has(e.from)) adjacency.set(e.from, []);
    if (!adjacency.has(e.to)) adjacency.set(e.to, []);
    adjacency.get(e.from).push(e.to);
    adjacency.get(e.to).push(e.from);
  }
  while (queue.length) {
    const ref = queue.shift();
    for (const next of adjacency.get(ref) || []) {
      if (parent.has(next) || !nodes.has(next)) continue;
      parent.set(next, ref);
      if (!children.has(ref)) children.set(ref, []);
      children.get(ref).push(next);
      queue.push(next);
    }
  }
  for (const ref of nodes.keys()) {
    if (!parent.has(ref)) { // not reached by an edge: hang it from the root
      parent.set(ref, rootRef);
      if (!children.has(rootRef)) children.set(rootRef, []);
      children.get(rootRef).push(ref);
    }
  }
  const depthOf = new Map([[rootRef, 0]]);
  const setDepth = (ref) => {
    for (const k of children.get(ref) || []) {
      depthOf.set(k, depthOf.get(ref) + 1);
      setDepth(k);
    }
  };
  setDepth(rootRef);
  const maxDepth = Math.max(1, ...depthOf.values());
  const S = 640, C = S / 2, ring = (C - 46) / maxDepth;
  const BASE_R = [18, 9, 5.5, 4, 3.5];
  const baseR = (d) => BASE_R[Math.min(d, BASE_R.length - 1)];
  // The angle a subtree needs: its own dot on its ring, or the room its descendants need, whichever is more.
  const need = new Map();
  const measure = (ref) => {
    const d = depthOf.get(ref);
    const own = d === 0 ? 0 : (2 * baseR(d) + 3) / (ring * d);
    let below = 0;
    for (const k of children.get(ref) || []) below += measure(k);
    need.set(ref, Math.max(own, below));
    return need.get(ref);
  };
  const scale = Math.min(1, (2 * Math.PI) / Math.max(measure(rootRef), 1e-9)); // < 1: dots shrink to fit
  const dotR = (d) => (d === 0 ? baseR(0) : Math.max(1.8, baseR(d) * scale));
  const pos = new Map([[rootRef, { x: C, y: C, a: 0 }]]);
  const place = (ref, a0, a1) => {
    let a = a0;
    const total = need.get(ref);
    for (const k of children.get(ref) || []) {
      const span = ((a1 - a0) * need.get(k)) / total;
      const angle = a + span / 2;
      const r = ring * depthOf.get(k);
      pos.set(k, { x: C + r * Math.cos(angle), y: C + r * Math.sin(angle), a: angle, span });
      place(k, a, a + span);
      a += span;
    }
  };
  place(rootRef, -Math.PI / 2, (3 * Math.PI) / 2);

  const svg = el("svg:svg", { viewBox: `0 0 ${S} ${S}`, class: "graph-svg", role: "img",
    "aria-label": `Entities related to ${rootRef}` });
  for (let d = 1; d <= maxDepth; d++) svg.append(el("svg:circle", { cx: C, cy: C, r: ring * d, class: "ring" }));
  const edges = el("svg:g", { class: "edges" });
  for (const [child, par] of parent) {
    if (par === null) continue;
    const a = pos.get(par), b = pos.get(child);
    edges.append(el("svg:line", { x1: a.x.toFixed(1), y1: a.y.toFixed(1), x2: b.x.toFixed(1), y2: b.y.toFixed(1) }));
  }
  svg.append(edges);
  const layer = el("svg:g", { class: "nodes" });
  for (const [ref, p] of pos) {
    const n = nodes.get(ref);
    const d = depthOf.get(ref);
    const g = el("svg:g", { class: `node${ref === personas.selected ? " selected" : ""}`, testid: "graph-node",
      "data-ref": ref, tabindex: 0, role: "button", "aria-label": `open ${ref}` });
    g.append(el("svg:title", { text: `${ref}${n.relationship ? " · " + n.relationship : ""}` }));
    g.append(el("svg:circle", { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: dotR(d).toFixed(1), fill: typeColour(n.type) }));
    if (d === 0) {
      g.append(el("svg:text", { x: C, y: C + 34, "text-anchor": "middle", class: "label root-label",
        text: displayName(rootData) || ref }));
    } else if (d === 1 && p.span * ring >= 11) { // room for a label along the radius, outside the dot
      const out = dotR(1) + 4;
      const lx = p.x + out * Math.cos(p.a), ly = p.y + out * Math.sin(p.a);
      const right = Math.cos(p.a) >= 0;
      const degrees = (p.a * 180) / Math.PI + (right ? 0 : 180);
      g.append(el("svg:text", { x: lx.toFixed(1), y: ly.toFixed(1), "text-anchor": right ? "start" : "end",
        "dominant-baseline": "central", transform: `rotate(${degrees.toFixed(1)} ${lx.toFixed(1)} ${ly.toFixed(1)})`,
        class: "label", text: `#${ref.split(":")[1]}` }));
    }
    const open = () => openEntity(ref, n.type);
    g.addEventListener("click", open);
    g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    layer.append(g);
  }
  svg.append(layer);
  box.append(svg);
  const counts = {};
  for (const n of nodes.values()) counts[n.type] = (counts[n.type] || 0) + 1;
  const legend = clear($("graph-legend"));
  for (const [type, count] of Object.entries(counts)) {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = typeColour(type);
    legend.append(el("span", { class: "legend-item" }, swatch, `${type} × ${count}`));
  }
  if (graph.truncated) legend.append(el("span", { class: "legend-item muted", text: "(truncated)" }));
}

async function openEntity(ref, type) {
  personas.selected = ref;
  for (const g of document.querySelectorAll('[data-testid="graph-node"]')) g.classList.toggle("selected", g.dataset.ref === ref);
  const id = ref.slice(ref.indexOf(":") + 1);
  $("entity-title").textContent = `${ref} — loading…`;
  try {
    const { data } = await api(`/api/v1/consistency/entities/${enc(type || ref.split(":")[0])}/${enc(id)}`);
    $("entity-title").textContent = `${ref}`;
    $("entity-json").textContent = JSON.stringify(data.data ?? data, null, 2);
  } catch (err) {
    $("entity-title").textContent = `${ref}: ${problemText(err)}`;
    $("entity-json").textContent = "";
  }
}

// -- clock --------------------------------------------------------------------------------------

PAGES.clock = {
  async refresh() {
    const ws = state.ws;
    const ref = state.lastPersona;
    const [clock, persona] = await Promise.allSettled([
      api("/api/v1/consistency/clock"),
      ref ? api(`/api/v1/consistency/persona/${enc(ref)}/lifecycle`) : Promise.resolve(null),
    ]);
    if (ws !== state.ws) return;
    for (const r of [clock, persona]) if (r.status === "rejected" && !(r.reason instanceof ApiError)) throw r.reason;
    if (clock.status === "fulfilled") renderClock(clock.value.data);
    else showMessage("clock-message", problemText(clock.reason));
    renderClockPersona(ref, persona.status === "fulfilled" && persona.value ? persona.value.data : null);
  },
};

/** The persona last opened, as the clock moves: its state and how long its history is. */
function renderClockPersona(ref, life) {
  const box = clear($("clock-persona"));
  box.hidden = !ref || !life;
  if (!ref || !life) return;
  const stateName = life.lifecycle_state || life.state;
  const n = (life.history || []).length;
  box.append(el("span", { class: "muted", text: "Watching" }), el("a", { href: href("personas", ref), text: ref }),
    el("span", { class: `state-badge small state-${stateName}`, testid: "clock-persona-state", text: stateName }),
    el("span", { text: `since ${fmtTime(life.entered_at)}` }),
    el("span", { class: "muted", testid: "clock-persona-history", text: `· ${n} history entr${n === 1 ? "y" : "ies"}` }),
    el("span", { class: "muted small next", text: nextTransitionText(life.next_transition) }));
}

function renderClock(data) {
  $("clock-now").textContent = fmtTime(data.now, true);
  $("clock-now").title = data.now;
  $("clock-start").textContent = fmtTime(data.start);
  $("clock-elapsed").textContent = fmtDuration(data.elapsed_seconds);
  const moved = $("clock-moved");
  moved.textContent = data.moved ? "moved" : "at the world's start";
  moved.classList.toggle("accent", !!data.moved);
  $("header-clock").textContent = fmtTime(data.now);
}

async function moveClock(action, body) {
  try {
    const { data } = await api(`/api/v1/consistency/clock/${action}`, { method: "POST", body });
    renderClock(data);
    const what = action === "advance" ? `Advanced by ${body.by}` : action === "set" ? "Set" : "Reset";
    showMessage("clock-message", `${what}: now ${fmtTime(data.now, true)}.`, "ok");
  } catch (err) {
    showMessage("clock-message", problemText(err));
  }
}

// -- reality ------------------------------------------------------------------------------------

const reality = {
  settings: null,
  overrides: null,    // what this workspace set over the config; a PUT replaces them whole
  missing: false,
  editingUntil: 0,
  saving: null,
  routesDirty: false,
  routes: [],
  traceId: null,
};

PAGES.reality = {
  reset() {
    $("reality-slider").disabled = true; // until this workspace's settings are in: a PUT replaces all overrides
    reality.settings = null;
    reality.overrides = null;
    reality.routesDirty = false;
    reality.traceId = null;
    $("trace-panel").hidden = true;
  },
  async refresh() {
    const ws = state.ws;
    const [settings, journal] = await Promise.allSettled([api("/api/v1/reality"), api(`/api/v1/requests?workspace=${enc(ws)}&limit=200`)]);
    if (ws !== state.ws) return;
    for (const r of [settings, journal]) if (r.status === "rejected" && !(r.reason instanceof ApiError)) throw r.reason;
    if (settings.status === "fulfilled") renderReality(settings.value.data);
    else renderRealityError(settings.reason);
    if (journal.status === "fulfilled") renderJournal(journal.value.data.requests || []);
  },
};

function settingsOf(payload) {
  return (payload && (payload.settings || payload.reality)) || payload || {};
}

function overridesOf(payload) {
  return payload && "overrides" in payload ? { ...(payload.overrides || {}) } : null;
}

function renderRealityError(err) {
  reality.missing = !!err.missing;
  const slider = $("reality-slider");
  slider.disabled = reality.missing;
  for (const id of ["reality-save-routes", "reality-add-route"]) $(id).disabled = reality.missing;
  showMessage("reality-message", reality.missing
    ? "The reality API (GET /api/v1/reality) is not available on this server; the journal below still works."
    : problemText(err), reality.missing ? "warn" : "error");
}

function renderReality(payload) {
  const s = settingsOf(payload);
  reality.missing = false;
  reality.settings = s;
  reality.overrides = overridesOf(payload);
  const config = payload && payload.config;
  const own = reality.overrides && "default_ratio" in reality.overrides;
  $("reality-origin").textContent = own
    ? `set for this workspace${config && typeof config.default_ratio === "number" ? ` (config default ${config.default_ratio})` : ""}`
    : "from the config";
  $("reality-reset").hidden = !(reality.overrides && Object.keys(reality.overrides).length);
  const slider = $("reality-slider");
  slider.disabled = false;
  for (const id of ["reality-save-routes", "reality-add-route"]) $(id).disabled = false;
  if (!$("reality-message").classList.contains("ok")) showMessage("reality-message", "");
  const ratio = Number(s.default_ratio ?? 0);
  if (Date.now() > reality.editingUntil && !reality.saving) {
    slider.value = String(ratio);
    showRatio(ratio);
  }
  $("reality-upstream").textContent = s.upstream || "none configured";
  const sch = s.schedule;
  $("reality-schedule").textContent = sch ? `${sch.from_ratio} → ${sch.to_ratio} over ${sch.over}${sch.start ? " from " + fmtTime(sch.start) : ""}` : "none";
  if (!reality.routesDirty) {
    reality.routes = (s.routes || []).map((r) => ({ pattern: r.pattern, ratio: r.ratio }));
    renderRoutes();
  }
}

function realityBand(r) {
  return r < 0.3 ? "synthetic" : r < 0.7 ? "recorded" : "upstream";
}

function showRatio(r) {
  $("reality-ratio").textContent = Number(r).toFixed(2);
  const band = $("reality-band");
  band.textContent = `${realityBand(r)} band`;
  band.className = `pill source-${realityBand(r)}`;
}

/** The body of a PUT: the workspace's current overrides with ``changes`` laid over (a PUT replaces them). */
function realityBody(changes) {
  if (reality.overrides) return { ...reality.overrides, ...changes };
  const body = {};
  for (const key of ["default_ratio", "routes", "schedule", "upstream", "timeout"]) {
    const value = key in changes ? changes[key] : reality.settings ? reality.settings[key] : undefined;
    if (value !== null && value !== undefined) body[key] = value;
  }
  return body;
}

async function saveReality(changes, okText) {
  const run = (async () => {
    try {
      const { data } = await api("/api/v1/reality", { method: "PUT", body: realityBody(changes) });
      reality.settings = settingsOf(data);
      reality.overrides = overridesOf(data);
      showMessage("reality-message", okText, "ok");
      return true;
    } catch (err) {
      showMessage("reality-message", err.missing ? "The reality API is not available on this server." : problemText(err));
      return false;
    }
  })();
  reality.saving = run;
  try {
    return await run;
  } finally {
    if (reality.saving === run) reality.saving = null;
  }
}

const saveRatio = debounce(async (value) => {
  await saveReality({ default_ratio: value }, `Workspace ratio set to ${value.toFixed(2)}: the next response uses it.`);
  reality.editingUntil = 0;
}, 250);

function renderRoutes() {
  const body = clear($("reality-routes").querySelector("tbody"));
  if (!reality.routes.length) {
    body.append(el("tr", {}, el("td", { colspan: 3, class: "muted", text: "No route rules: every path uses the workspace ratio." })));
  }
  reality.routes.forEach((rule, i) => {
    const pattern = el("input", { value: rule.pattern, testid: "route-pattern", "aria-label": "Pattern", spellcheck: "false",
      oninput: (e) => { rule.pattern = e.target.value; reality.routesDirty = true; } });
    const ratio = el("input", { type: "number", min: 0, max: 1, step: 0.05, value: rule.ratio, testid: "route-ratio",
      "aria-label": "Ratio", oninput: (e) => { rule.ratio = e.target.value === "" ? null : Number(e.target.value); reality.routesDirty = true; } });
    const remove = el("button", { type: "button", class: "icon", testid: "route-remove", "aria-label": "Remove rule", text: "×",
      onclick: () => { reality.routes.splice(i, 1); reality.routesDirty = true; renderRoutes(); } });
    body.append(el("tr", { testid: "route-row" }, el("td", {}, pattern), el("td", { class: "num" }, ratio), el("td", {}, remove)));
  });
}

function renderJournal(entries) {
  const counts = {};
  for (const e of entries) {
    const source = e.source || "other";
    counts[source] = (counts[source] || 0) + 1;
  }
  const total = entries.length;
  $("share-total").textContent = total ? `last ${total} response${total === 1 ? "" : "s"}` : "";
  const bar = clear($("source-share"));
  const legend = clear($("source-legend"));
  const order = [...SOURCES, ...Object.keys(counts).filter((s) => !SOURCES.includes(s))];
  if (!total) bar.append(el("span", { class: "share-empty", text: "no responses yet in this workspace" }));
  for (const source of order) {
    const n = counts[source] || 0;
    const pct = total ? (100 * n) / total : 0;
    if (n) {
      const seg = el("span", { class: `seg source-${source}`, testid: `share-${source}`, title: `${source}: ${n}` });
      seg.style.width = `${pct}%`;
      if (pct >= 12) seg.textContent = `${Math.round(pct)}%`;
      bar.append(seg);
    }
    const swatch = el("span", { class: `swatch source-${source}` });
    legend.append(el("span", { class: `legend-item${n ? "" : " muted"}`, testid: `share-count-${source}` },
      swatch, `${source} ${n} (${Math.round(pct)}%)`));
  }
  const body = clear($("requests-table").querySelector("tbody"));
  const recent = entries.slice(-30).reverse();
  if (!recent.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "No requests yet. Call the mock API, e.g. GET /users/1." })));
  for (const e of recent) {
    const t = new Date(e.time * 1000);
    const row = el("tr", { testid: "request-row", "data-id": e.id, tabindex: 0, class: e.id === reality.traceId ? "active" : "",
      onclick: () => openTrace(e), onkeydown: (ev) => { if (ev.key === "Enter") openTrace(e); } },
      el("td", { class: "muted", text: `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}` }),
      el("td", {}, el("code", { text: `${e.method} ${e.path}${e.query ? "?" + e.query : ""}` })),
      el("td", { class: `num status-${String(e.status)[0]}xx`, text: e.status }),
      el("td", {}, el("span", { class: `pill source-${e.source || "other"}`, text: e.source || "–" })),
      el("td", { class: "num", text: typeof e.latency_ms === "number" ? e.latency_ms.toFixed(1) : "" }));
    body.append(row);
  }
}

async function openTrace(entry) {
  reality.traceId = entry.id;
  for (const r of document.querySelectorAll('[data-testid="request-row"]')) r.classList.toggle("active", r.dataset.id === entry.id);
  $("trace-panel").hidden = false;
  $("trace-title").textContent = `Trace of ${entry.method} ${entry.path} (${entry.id})`;
  const table = $("trace-table");
  clear(table.querySelector("thead"));
  const body = clear(table.querySelector("tbody"));
  const facts = clear($("trace-facts"));
  const fallbacks = clear($("trace-fallbacks"));
  $("trace-json").textContent = "";
  $("trace-raw").hidden = true;
  let data;
  try {
    ({ data } = await api(`/api/v1/reality/trace/${enc(entry.id)}`));
  } catch (err) {
    facts.textContent = err.missing ? "The trace API is not available on this server." : problemText(err);
    return;
  }
  if (reality.traceId !== entry.id) return;
  const decisions = Array.isArray(data) ? data : data.decisions || [];
  if (!Array.isArray(data)) {
    const why = data.ratio_reason && data.ratio_reason.source
      ? ` from the ${data.ratio_reason.source}${data.ratio_reason.pattern ? " " + data.ratio_reason.pattern : ""}` : "";
    const bits = [data.route, typeof data.ratio === "number" ? `ratio ${data.ratio}${why}` : null,
      data.band ? `${data.band} band` : null, typeof data.status === "number" ? `status ${data.status}` : null,
      typeof data.elapsed_ms === "number" ? `${data.elapsed_ms.toFixed(1)} ms` : null].filter(Boolean);
    facts.append(...bits.map((b, i) => (i ? ` · ${b}` : b)));
    if (data.source) facts.append(" · served ", el("span", { class: `pill source-${data.source}`, testid: "trace-source", text: data.source }));
    for (const f of data.fallbacks || []) {
      fallbacks.append(el("li", { text: `fell back from ${f.tier || "?"}: ${f.detail || f.reason || ""}` }));
    }
    $("trace-json").textContent = JSON.stringify(data, null, 2);
    $("trace-raw").hidden = false;
  }
  if (!decisions.length) {
    body.append(el("tr", {}, el("td", { class: "muted", text: "No per-field decisions recorded for this request." })));
    return;
  }
  const cols = [...new Set(decisions.flatMap((d) => Object.keys(d)))];
  table.querySelector("thead").append(el("tr", {}, cols.map((c) => el("th", { text: c === "u" ? "draw" : c }))));
  for (const d of decisions.slice(0, 500)) {
    body.append(el("tr", { testid: "trace-row" }, cols.map((c) => el("td", {
      class: c === "source" ? `source-text source-${d[c]}` : "val",
      text: typeof d[c] === "number" && !Number.isInteger(d[c]) ? d[c].toFixed(4) : fmtValue(d[c]) }))));
  }
  if (decisions.length > 500) body.append(el("tr", {}, el("td", { colspan: cols.length, class: "muted", text: `… ${decisions.length - 500} more in the raw JSON` })));
}

async function resolvePath(event) {
  event.preventDefault();
  const path = $("resolve-path").value.trim() || "/";
  const out = $("resolve-result");
  try {
    const { data } = await api(`/api/v1/reality/resolve?path=${enc(path)}`);
    const why = data.source ? ` from the ${data.source}${data.pattern ? " " + data.pattern : ""}` : "";
    out.textContent = `${path}: ratio ${data.ratio}${why}${data.band ? ", " + data.band + " band" : ""}`;
  } catch (err) {
    out.textContent = err.missing ? "The resolve API is not available on this server." : problemText(err);
  }
}

// -- wiring -------------------------------------------------------------------------------------

function wire() {
  const lifecycle = $("lifecycle-select");
  for (const s of STATES) lifecycle.append(el("option", { value: s, text: s }));
  lifecycle.addEventListener("change", () => { personas.picked = true; });
  $("lifecycle-form").addEventListener("submit", setLifecycle);
  $("metadata-form").addEventListener("submit", setMetadata);
  $("persona-search").addEventListener("input", search);
  $("graph-depth").addEventListener("change", () => { personas.graphKey = null; tick(); });
  $("fidelity-compute").addEventListener("click", computeFromTraffic);

  $("clock-advance-form").addEventListener("submit", (e) => { e.preventDefault(); moveClock("advance", { by: $("clock-by").value.trim() }); });
  for (const b of document.querySelectorAll("[data-by]")) b.addEventListener("click", () => moveClock("advance", { by: b.dataset.by }));
  $("clock-set-form").addEventListener("submit", (e) => { e.preventDefault(); moveClock("set", { to: $("clock-to").value.trim() }); });
  $("clock-reset").addEventListener("click", () => moveClock("reset"));

  const slider = $("reality-slider");
  slider.addEventListener("input", () => { reality.editingUntil = Date.now() + 2000; showRatio(Number(slider.value)); });
  slider.addEventListener("change", () => { reality.editingUntil = Date.now() + 2000; saveRatio(Number(slider.value)); });
  $("reality-add-route").addEventListener("click", () => { reality.routes.push({ pattern: "/users/*", ratio: 0.5 }); reality.routesDirty = true; renderRoutes(); });
  $("reality-save-routes").addEventListener("click", async () => {
    const bad = reality.routes.find((r) => !r.pattern || typeof r.ratio !== "number" || Number.isNaN(r.ratio));
    if (bad) {
      showMessage("reality-message", "Every rule needs a pattern such as /users/* and a ratio from 0 to 1.");
      return;
    }
    if (await saveReality({ routes: reality.routes.map((r) => ({ pattern: r.pattern.trim(), ratio: r.ratio })) },
      `Saved ${reality.routes.length} route rule${reality.routes.length === 1 ? "" : "s"}.`)) {
      reality.routesDirty = false;
      tick();
    }
  });
  $("resolve-form").addEventListener("submit", resolvePath);
  $("reality-reset").addEventListener("click", async () => {
    try {
      const { data } = await api("/api/v1/reality", { method: "DELETE" });
      reality.routesDirty = false;
      reality.editingUntil = 0;
      renderReality(data);
      showMessage("reality-message", "This workspace's reality settings were removed: the config applies again.", "ok");
    } catch (err) {
      showMessage("reality-message", problemText(err));
    }
  });
  $("trace-close").addEventListener("click", () => { $("trace-panel").hidden = true; reality.traceId = null; });

  $("workspace-form").addEventListener("submit", (e) => { e.preventDefault(); switchWorkspace(); });
  $("workspace-input").addEventListener("change", switchWorkspace);
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token-input").value.trim();
    sessionStorage.setItem("mockverse.token", state.token);
    $("token-bar").hidden = true;
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });
  window.addEventListener("hashchange", onRoute);
}

function switchWorkspace() {
  const ws = $("workspace-input").value.trim();
  if (!ws || ws === state.ws) return;
  // personas exist in every workspace: stay on the same page. The page's state moves with the URL at once
  // (a hash change is routed only after this event), so an action taken right after acts on the new workspace.
  history.pushState(null, "", href(state.page, state.arg, ws));
  onRoute();
}

wire();
discoverWorkspaces();
onRoute();
