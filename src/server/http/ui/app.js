// pgw's page. Reads the light group list (/api/v1/groups) and renders only
// the rows in view (a page at a time), so it stays quick with tens of
// thousands of groups; a group's metrics are fetched when it is opened.
// Every value from the server goes into the page as text, never as HTML:
// label values are whatever clients pushed.
"use strict";

const PREFIX = document.querySelector('meta[name="pgw-route-prefix"]').content;
const PAGE = 200;
const REFRESH_MS = 15000;

const state = {
  groups: [],      // from /api/v1/groups, with .text (labels as shown) added
  shown: PAGE,     // how many matching rows are rendered
  open: new Set(), // paths of the groups whose metrics are shown
  fetchedAt: 0,    // client clock when the list was fetched
  adminApi: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

async function api(path, options) {
  const r = await fetch(PREFIX + path, options);
  if (!r.ok) {
    const body = (await r.text()).trim();
    throw new Error(`${options && options.method || "GET"} ${path}: ${r.status} ${r.statusText}${body ? ": " + body : ""}`);
  }
  return r;
}

function showError(e) {
  const box = $("error");
  box.textContent = e ? String(e.message || e) : "";
  box.hidden = !e;
}

// --- ages and durations -----------------------------------------------------

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function nowSeconds() {
  return Date.now() / 1000;
}

// --- filtering --------------------------------------------------------------

// A selector as in PromQL (quotes optional): job="x",instance=~"web-.*".
// Returns null when the text is not one, so it is matched as plain text.
function parseSelector(text) {
  const t = text.trim().replace(/^\{/, "").replace(/\}$/, "");
  if (!/[=~]/.test(t)) return null;
  const matchers = [];
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^,]*))\s*(,|$)/y;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m || m.index !== pos) return { error: `cannot read a matcher at column ${pos + 1}` };
    let value = m[4] !== undefined ? m[4] : m[5] !== undefined ? m[5] : m[6].trim();
    value = value.replace(/\\(["'\\])/g, "$1");
    let regex = null;
    if (m[2] === "=~" || m[2] === "!~") {
      try { regex = new RegExp(`^(?:${value})$`); } catch (e) { return { error: `bad regular expression for ${m[1]}: ${e.message}` }; }
    }
    matchers.push({ name: m[1], op: m[2], value, regex });
    pos = re.lastIndex;
    if (m[7] === "") break;
  }
  return { matchers };
}

function selectorMatches(sel, labels) {
  return sel.matchers.every(({ name, op, value, regex }) => {
    const v = labels[name] || "";
    switch (op) {
      case "=": return v === value;
      case "!=": return v !== value;
      case "=~": return regex.test(v);
      default: return !regex.test(v);
    }
  });
}

function isStale(g, now) {
  return now - g.push_time_seconds > Number($("stale-after").value);
}

function matching() {
  const text = $("filter").value;
  const onlyFailed = $("only-failed").checked;
  const onlyStale = $("only-stale").checked;
  const now = nowSeconds();
  const sel = parseSelector(text);
  const note = $("filter-note");
  note.hidden = !(sel && sel.error);
  note.textContent = sel && sel.error ? `Matching as text: ${sel.error}.` : "";
  const useSel = sel && !sel.error;
  const needle = text.trim().toLowerCase();
  return state.groups.filter((g) => {
    if (onlyFailed && g.last_push_successful) return false;
    if (onlyStale && !isStale(g, now)) return false;
    if (useSel) return selectorMatches(sel, g.labels);
    return !needle || g.text.toLowerCase().includes(needle);
  });
}

// --- rendering --------------------------------------------------------------

// job first, then the rest in order: the way people read a group.
function labelNames(labels) {
  return Object.keys(labels).sort((a, b) => (a === "job" ? -1 : b === "job" ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

function labelText(labels) {
  return labelNames(labels).map((n) => `${n}="${labels[n]}"`).join(" ");
}

function labelChips(labels) {
  return labelNames(labels).map((n) => el("span", { class: "label" }, el("b", {}, n), `="${labels[n]}"`));
}

function groupRow(g, now) {
  const failed = !g.last_push_successful;
  const stale = isStale(g, now);
  const classes = ["group"];
  if (failed) classes.push("failed");
  if (stale) classes.push("stale");
  const age = el("td", { class: "age", "data-push": String(g.push_time_seconds) }, `${duration(now - g.push_time_seconds)} ago`);
  if (stale) age.append(el("span", { class: "badge" }, "stale"));
  let expires = "never";
  if (g.expires_in_seconds !== undefined) {
    const left = g.expires_in_seconds - (now - state.fetchedAt);
    expires = left > 0 ? duration(left) : "now";
  }
  const del = el("button", { class: "danger delete", type: "button", title: "Delete this group" }, "Delete");
  del.addEventListener("click", (ev) => {
    ev.stopPropagation();
    deleteGroup(g);
  });
  const row = el(
    "tr",
    { class: classes.join(" "), "data-path": g.path, "data-key": g.text },
    el("td", { class: "key" }, ...labelChips(g.labels)),
    age,
    el("td", { class: failed ? "status-failed" : "status-ok" }, failed ? "failed" : "ok"),
    el("td", { class: "num" }, String(g.metrics)),
    el("td", { class: "num" }, String(g.series)),
    el("td", { class: "expires" }, expires),
    el("td", {}, del),
  );
  row.addEventListener("click", () => toggle(g.path));
  return row;
}

function detailRow(path) {
  const pre = el("pre", {}, "loading…");
  const row = el("tr", { class: "detail", "data-path": path }, el("td", { colSpan: 7 }, pre));
  api(`/api/v1/group${path.replace(/^\/metrics/, "")}`)
    .then((r) => r.text())
    .then((t) => { pre.textContent = t; })
    .catch((e) => { pre.textContent = String(e.message || e); });
  return row;
}

function render() {
  const now = nowSeconds();
  const rows = matching();
  const tbody = document.querySelector("#groups tbody");
  const frag = document.createDocumentFragment();
  for (const g of rows.slice(0, state.shown)) {
    frag.append(groupRow(g, now));
    if (state.open.has(g.path)) frag.append(detailRow(g.path));
  }
  tbody.replaceChildren(frag);
  const failed = state.groups.filter((g) => !g.last_push_successful).length;
  $("count").textContent =
    `${rows.length} of ${state.groups.length} groups` +
    (rows.length > state.shown ? `, first ${state.shown} shown` : "") +
    (failed ? ` · ${failed} with a failed last push` : "");
  const more = $("more");
  more.hidden = rows.length <= state.shown;
  more.textContent = `Show ${Math.min(PAGE, rows.length - state.shown)} more`;
}

function tickAges() {
  const now = nowSeconds();
  for (const td of document.querySelectorAll("#groups td.age")) {
    td.firstChild.textContent = `${duration(now - Number(td.dataset.push))} ago`;
  }
}

// --- actions ----------------------------------------------------------------

function toggle(path) {
  if (state.open.has(path)) state.open.delete(path);
  else state.open.add(path);
  render();
}

async function deleteGroup(g) {
  if (!confirm(`Delete the group {${labelText(g.labels)}}?`)) return;
  try {
    await api(g.path, { method: "DELETE" });
    state.open.delete(g.path);
    await Promise.all([load(), loadStatus()]);
  } catch (e) {
    showError(e);
  }
}

async function deleteAll() {
  const n = state.groups.length;
  if (!confirm(`Delete all ${n} groups? This cannot be undone.`)) return;
  try {
    await api("/api/v1/admin/wipe", { method: "PUT" });
    state.open.clear();
    await Promise.all([load(), loadStatus()]);
  } catch (e) {
    showError(e);
  }
}

async function load() {
  try {
    const r = await api("/api/v1/groups");
    const doc = await r.json();
    state.groups = doc.data;
    for (const g of state.groups) g.text = labelText(g.labels);
    state.fetchedAt = nowSeconds();
    showError(null);
    render();
  } catch (e) {
    showError(e);
  }
}

// --- status -----------------------------------------------------------------

function kv(table, entries) {
  table.replaceChildren(...entries.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v)))));
}

async function loadStatus() {
  try {
    const doc = await (await api("/api/v1/status")).json();
    const d = doc.data;
    const p = d.pgw || {};
    state.adminApi = d.flags && d.flags["web.enable-admin-api"] === "true";
    $("delete-all").hidden = !state.adminApi;
    const started = new Date(d.start_time);
    $("summary").textContent = `${p.groups} groups · ${p.series} series · up ${duration((Date.now() - started) / 1000)}`;
    const expiry = p.expiry || {};
    const persistence = p.persistence || {};
    kv($("status-pgw"), [
      ["Groups", p.groups],
      ["Series", p.series],
      ["Pushes per second (last minute)", p.pushes_per_second],
      ["Pushes since start", p.pushes_total],
      ["Expire after (default)", expiry.expire_after || "never"],
      ["Groups expired", expiry.expired_groups_total],
      ["Persistence", persistence.mode === "file" ? `${persistence.file}${persistence.state ? " (" + persistence.state + ")" : ""}` : "memory only"],
      ...(persistence.mode === "file" && persistence.log_bytes !== undefined ? [
        ["Snapshot / log size", `${bytes(persistence.snapshot_bytes)} / ${bytes(persistence.log_bytes)}`],
        ["Last compaction", `${duration(persistence.seconds_since_compaction)} ago`],
      ] : []),
      ["Admin API", p.admin_api ? "on" : "off"],
      ...Object.entries(p.limits || {}).map(([k, v]) => [`Limit ${k.replace(/_/g, " ")}`, v === 0 ? "none" : v]),
    ]);
    kv($("status-build"), [
      ["Start time", `${d.start_time} (up ${duration((Date.now() - started) / 1000)})`],
      ...Object.entries(d.build_information).filter(([, v]) => v !== "").map(([k, v]) => [k, v]),
    ]);
    kv($("status-flags"), Object.entries(d.flags).sort(([a], [b]) => (a < b ? -1 : 1)));
  } catch (e) {
    showError(e);
  }
}

// --- wiring -----------------------------------------------------------------

function route() {
  const status = location.hash === "#status";
  $("groups-view").hidden = status;
  $("status-view").hidden = !status;
  $("tab-groups").classList.toggle("active", !status);
  $("tab-status").classList.toggle("active", status);
  if (status) loadStatus();
}

let filterTimer = 0;
$("filter").addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => { state.shown = PAGE; render(); }, 120);
});
for (const id of ["only-failed", "only-stale", "stale-after"]) {
  $(id).addEventListener("change", () => { state.shown = PAGE; render(); });
}
$("refresh").addEventListener("click", () => { load(); loadStatus(); });
$("delete-all").addEventListener("click", deleteAll);
$("more").addEventListener("click", () => { state.shown += PAGE; render(); });
window.addEventListener("hashchange", route);
setInterval(tickAges, 1000);
setInterval(() => {
  if (document.visibilityState === "visible") { load(); loadStatus(); }
}, REFRESH_MS);

route();
load();
loadStatus();
