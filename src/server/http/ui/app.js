// pgw's page. Reads the light group list (/api/v1/groups) and renders only
// the rows in view (a page at a time), so it stays quick with tens of
// thousands of groups; a group's metrics are fetched when it is opened.
// Every value from the server goes into the page as text, never as HTML:
// label values are whatever clients pushed.
//
// Groups are sorted as `pgw list` sorts them: failed first, then by job,
// then by the other labels, in natural order (web-2 before web-10). The
// filters live in the query string (?q=...&failed=1&stale=1&stale_after=N),
// so a view can be shared and survives a reload; the counts are links that
// apply their filter.
"use strict";

const PREFIX = document.querySelector('meta[name="pgw-route-prefix"]').content;
// With --push.enable-utf8-names label names are shown as they are; without
// it, as upstream's page, a name that is not a legacy label name is quoted.
const UTF8_NAMES = document.querySelector('meta[name="pgw-utf8-names"]').content === "true";
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

// 67108864 -> "64 MiB", 1536 -> "1.5 KiB", 1000 -> "1000 B".
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  const text = i && !Number.isInteger(n) ? n.toFixed(1).replace(/\.0$/, "") : String(n);
  return `${text} ${units[i]}`;
}

// 1000000 -> "1,000,000".
function count(n) {
  return Number(n).toLocaleString("en-US");
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

// A group is failed when its last push was refused, or when it is a job
// wrapped by `pgw push -- COMMAND` whose last run exited non-zero.
function pushFailed(g) {
  return !g.last_push_successful;
}

function jobFailed(g) {
  return typeof g.job_exit_code === "number" && g.job_exit_code !== 0;
}

function isFailed(g) {
  return pushFailed(g) || jobFailed(g);
}

// --- sorting ----------------------------------------------------------------

// Natural order: runs of digits compare as numbers, the rest by code point,
// so "web-2" < "web-10" and "a" < "b".
function natural(a, b) {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) || [], pb = b.match(re) || [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i], y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x), dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = x.replace(/^0+(?=\d)/, ""), ny = y.replace(/^0+(?=\d)/, "");
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      // Equal numbers: fewer leading zeros first, so the order is total.
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

// Failed first, then job, then the other labels by name and value.
function compareGroups(a, b) {
  const fa = isFailed(a), fb = isFailed(b);
  if (fa !== fb) return fa ? -1 : 1;
  const byJob = natural(a.labels.job || "", b.labels.job || "");
  if (byJob) return byJob;
  const na = labelNames(a.labels).filter((n) => n !== "job");
  const nb = labelNames(b.labels).filter((n) => n !== "job");
  for (let i = 0; i < Math.min(na.length, nb.length); i++) {
    if (na[i] !== nb[i]) return na[i] < nb[i] ? -1 : 1;
    const byValue = natural(a.labels[na[i]], b.labels[nb[i]]);
    if (byValue) return byValue;
  }
  return na.length - nb.length;
}

// --- the view in the URL ----------------------------------------------------

const DEFAULT_STALE_AFTER = "3600";

// Sets the controls from the query string.
function readUrl() {
  const q = new URLSearchParams(location.search);
  $("filter").value = q.get("q") || "";
  $("only-failed").checked = q.get("failed") === "1";
  $("only-stale").checked = q.get("stale") === "1";
  const after = q.get("stale_after") || DEFAULT_STALE_AFTER;
  const select = $("stale-after");
  if (![...select.options].some((o) => o.value === after) && /^\d+$/.test(after)) {
    select.append(el("option", { value: after }, duration(Number(after))));
  }
  select.value = after;
}

// The query string for the controls as they are (defaults left out).
function viewQuery(overrides) {
  const v = {
    q: $("filter").value,
    failed: $("only-failed").checked ? "1" : "",
    stale: $("only-stale").checked ? "1" : "",
    stale_after: $("stale-after").value === DEFAULT_STALE_AFTER ? "" : $("stale-after").value,
    ...overrides,
  };
  const q = new URLSearchParams();
  for (const [k, val] of Object.entries(v)) if (val) q.set(k, val);
  const text = q.toString();
  return text ? `?${text}` : "";
}

// Puts the controls into the address bar, without a history entry per key.
function writeUrl() {
  const url = `${location.pathname}${viewQuery({})}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) {
    history.replaceState(null, "", url);
  }
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
    if (onlyFailed && !isFailed(g)) return false;
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

function shownName(n) {
  return UTF8_NAMES || /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n) ? n : JSON.stringify(n);
}

function labelText(labels) {
  return labelNames(labels).map((n) => `${shownName(n)}="${labels[n]}"`).join(" ");
}

function labelChips(labels) {
  return labelNames(labels).map((n) => el("span", { class: "label" }, el("b", {}, shownName(n)), `="${labels[n]}"`));
}

// The status cell: the push's outcome, and for a wrapped job its last exit
// code and the age of its last success.
function statusCell(g, now) {
  const td = el("td", { class: `status ${isFailed(g) ? "status-failed" : "status-ok"}` });
  const parts = [];
  if (pushFailed(g)) parts.push("push failed");
  if (jobFailed(g)) parts.push(`exit ${g.job_exit_code}`);
  td.append(el("span", { class: "outcome" }, parts.length ? parts.join(", ") : "ok"));
  if (typeof g.job_exit_code === "number") {
    const success = g.job_last_success_time_seconds;
    const text = typeof success === "number" && success > 0
      ? `last success ${duration(now - success)} ago`
      : "no success yet";
    td.append(el("span", { class: "success", "data-success": String(success || "") }, text));
  }
  return td;
}

function groupRow(g, now, showExpiry) {
  const failed = isFailed(g);
  const stale = isStale(g, now);
  const classes = ["group"];
  if (failed) classes.push("failed");
  if (stale) classes.push("stale");
  const age = el("td", { class: "age", "data-push": String(g.push_time_seconds) }, `${duration(now - g.push_time_seconds)} ago`);
  if (stale) age.append(el("span", { class: "badge" }, "stale"));
  // Only groups that can expire say when: "never" on every row of a store
  // without expiry is noise.
  let expires = "";
  if (g.expires_in_seconds !== undefined) {
    const left = g.expires_in_seconds - (now - state.fetchedAt);
    expires = left > 0 ? duration(left) : "now";
  }
  const del = el("button", { class: "danger delete", type: "button", title: "Delete this group" }, "Delete");
  del.addEventListener("click", (ev) => {
    ev.stopPropagation();
    deleteGroup(g);
  });
  const key = el("td", { class: "key" }, ...labelChips(g.labels));
  // Pushes add into this group (Pgw-Aggregate) rather than replace.
  if (g.aggregate) key.append(el("span", { class: "badge aggregate", title: "Pushes to this group add up (Pgw-Aggregate)" }, `aggregate: ${g.aggregate}`));
  const row = el(
    "tr",
    { class: classes.join(" "), "data-path": g.path, "data-key": g.text },
    key,
    age,
    statusCell(g, now),
    el("td", { class: "num" }, String(g.metrics)),
    el("td", { class: "num" }, String(g.series)),
    showExpiry ? el("td", { class: "expires" }, expires) : null,
    el("td", {}, del),
  );
  row.addEventListener("click", () => toggle(g.path));
  return row;
}

function detailRow(path) {
  const pre = el("pre", {}, "loading…");
  const cols = document.querySelectorAll("#groups thead th:not([hidden])").length;
  const row = el("tr", { class: "detail", "data-path": path }, el("td", { colSpan: cols }, pre));
  api(`/api/v1/group${path.replace(/^\/metrics/, "")}`)
    .then((r) => r.text())
    .then((t) => { pre.textContent = t; })
    .catch((e) => { pre.textContent = String(e.message || e); });
  return row;
}

// A count that applies its filter when clicked; a real link, so it can be
// opened in a new tab or copied.
function filterLink(text, filter, overrides) {
  const a = el("a", { href: `${location.pathname}${viewQuery(overrides)}`, class: "filter-link", "data-filter": filter }, text);
  a.addEventListener("click", (ev) => {
    if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    if ("failed" in overrides) $("only-failed").checked = overrides.failed === "1";
    if ("stale" in overrides) $("only-stale").checked = overrides.stale === "1";
    if ("q" in overrides) $("filter").value = overrides.q;
    changed();
  });
  return a;
}

function render() {
  writeUrl();
  const now = nowSeconds();
  const rows = matching();
  const showExpiry = state.groups.some((g) => g.expires_in_seconds !== undefined);
  document.querySelector("#groups th.expires").hidden = !showExpiry;
  const tbody = document.querySelector("#groups tbody");
  const frag = document.createDocumentFragment();
  for (const g of rows.slice(0, state.shown)) {
    frag.append(groupRow(g, now, showExpiry));
    if (state.open.has(g.path)) frag.append(detailRow(g.path));
  }
  tbody.replaceChildren(frag);
  const pushes = state.groups.filter(pushFailed).length;
  const jobs = state.groups.filter(jobFailed).length;
  const stale = state.groups.filter((g) => isStale(g, now)).length;
  const filtered = $("filter").value.trim() || $("only-failed").checked || $("only-stale").checked;
  const line = [];
  line.push(filtered
    ? filterLink(`${rows.length} of ${state.groups.length} groups`, "all", { q: "", failed: "", stale: "" })
    : `${rows.length} of ${state.groups.length} groups`);
  if (rows.length > state.shown) line.push(`, first ${state.shown} shown`);
  if (pushes) line.push(" · ", filterLink(`${pushes} with a failed last push`, "failed", { failed: "1" }));
  if (jobs) line.push(" · ", filterLink(`${jobs} whose job last exited non-zero`, "failed", { failed: "1" }));
  if (stale) line.push(" · ", filterLink(`${stale} stale`, "stale", { stale: "1" }));
  if (!showExpiry && state.groups.length) line.push(" · no group expires");
  $("count").replaceChildren(...line);
  const more = $("more");
  more.hidden = rows.length <= state.shown;
  more.textContent = `Show ${Math.min(PAGE, rows.length - state.shown)} more`;
}

function tickAges() {
  const now = nowSeconds();
  for (const td of document.querySelectorAll("#groups td.age")) {
    td.firstChild.textContent = `${duration(now - Number(td.dataset.push))} ago`;
  }
  for (const span of document.querySelectorAll("#groups span.success[data-success]")) {
    const t = Number(span.dataset.success);
    if (t > 0) span.textContent = `last success ${duration(now - t)} ago`;
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
    state.groups.sort(compareGroups);
    state.fetchedAt = nowSeconds();
    showError(null);
    render();
  } catch (e) {
    showError(e);
  }
}

// --- status -----------------------------------------------------------------

// The limits in the units they are in: sizes in bytes as KiB/MiB, the rest
// as counts; 0 is no limit.
function limitText(name, v) {
  if (typeof v !== "number") return v;
  if (v === 0) return "none";
  if (name === "max_body_size") return bytes(v);
  if (name.endsWith("_length")) return `${count(v)} bytes`;
  return count(v);
}

// Flags stay as given, with the human size beside a byte count.
function flagText(name, v) {
  if (name === "push.max-body-size" && /^\d+$/.test(v) && Number(v) >= 1024) return `${v} (${bytes(Number(v))})`;
  return v;
}

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
      ...Object.entries(p.limits || {}).map(([k, v]) => [`Limit ${k.replace(/_/g, " ")}`, limitText(k, v)]),
    ]);
    kv($("status-build"), [
      ["Start time", `${d.start_time} (up ${duration((Date.now() - started) / 1000)})`],
      ...Object.entries(d.build_information).filter(([, v]) => v !== "").map(([k, v]) => [k, v]),
    ]);
    kv($("status-flags"), Object.entries(d.flags).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, flagText(k, v)]));
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

function changed() {
  state.shown = PAGE;
  render();
}

let filterTimer = 0;
$("filter").addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(changed, 120);
});
for (const id of ["only-failed", "only-stale", "stale-after"]) {
  $(id).addEventListener("change", changed);
}
// Back and forward between shared views (a link opened in this tab).
window.addEventListener("popstate", () => { readUrl(); changed(); });
$("refresh").addEventListener("click", () => { load(); loadStatus(); });
$("delete-all").addEventListener("click", deleteAll);
$("more").addEventListener("click", () => { state.shown += PAGE; render(); });
window.addEventListener("hashchange", route);
setInterval(tickAges, 1000);
setInterval(() => {
  if (document.visibilityState === "visible") { load(); loadStatus(); }
}, REFRESH_MS);

readUrl();
route();
load();
loadStatus();
