// Fence operator console. Plain JS, no libraries, no network beyond this engine.
"use strict";

const SEVERITY_RANK = { critical: 0, major: 1, minor: 2 };
const TYPES = ["trespass", "overcrowding", "undermanning", "loitering", "stillness", "offline"];
const QUALITY = { 0: "invalid", 1: "single", 2: "DGPS", 3: "PPS", 4: "RTK fixed", 5: "RTK float", 6: "dead reckoning" };
const ROLE_COLOURS = ["#4fc3f7", "#81c784", "#ffb74d", "#ba68c8", "#f06292", "#4db6ac", "#dce775", "#9575cd", "#ff8a65", "#90a4ae"];
const KIND_COLOURS = ["#4fa3ff", "#46c28e", "#c792ea", "#f5a742", "#5fd4e6", "#e0c95a", "#7f8cff", "#e87fa5"];
const NEW_HIGHLIGHT_MS = 12000;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

// ---------------------------------------------------------------- state
const S = {
  me: null, site: null, zonesById: new Map(), termInfo: new Map(),
  terminals: new Map(),      // id -> {id,x,y,q,t,online,zones}
  zoneLive: new Map(),       // id -> {count, members, over, under}
  alarms: new Map(),         // raised event id -> event obj (open)
  cleared: [],               // cleared alarm objs (raised obj + .cleared)
  newUntil: new Map(),       // alarm id -> ms until highlighted
  clockMs: null, selected: null, selectedZone: null, track: null,
  muted: localStorage.getItem("fence.muted") === "1",
  replay: null,              // {from,to,tracks:Map,events,t,playing}
  es: null, reconnectTimer: null, dirty: true,
  perf: { updates: [], frames: [] },
  roleColour: new Map(), kindColour: new Map(),
};
window.__fence = S; // for tests and measurements

// ---------------------------------------------------------------- API
async function api(path, opts = {}) {
  const init = { credentials: "same-origin", headers: {} };
  if (opts.body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (res.status === 401 && path !== "/api/login") { showLogin("Session expired — log in again."); }
  if (!res.ok) { const err = new Error((data && data.error) || res.statusText); err.status = res.status; throw err; }
  return data;
}

// ---------------------------------------------------------------- time
function fmtTime(ms, withDate = false) {
  if (ms === null || ms === undefined) return "—";
  const tz = (S.site && S.site.timezone) || undefined;
  const opts = { timeZone: tz, hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" };
  if (withDate) { opts.year = "numeric"; opts.month = "2-digit"; opts.day = "2-digit"; }
  return new Intl.DateTimeFormat("sv-SE", opts).format(new Date(ms));
}
function fmtAge(ms) {
  if (ms === null || ms === undefined || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  if (s < 90) return s + " s";
  if (s < 5400) return Math.floor(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}
const eventMs = (e) => Date.parse(e.t);

// ---------------------------------------------------------------- login
function showLogin(msg) {
  $("login").classList.remove("hidden");
  $("login-error").textContent = msg || "";
  if (S.es) { S.es.close(); S.es = null; }
  setConn(false, "logged out");
}
let audioCtx = null;
// Browsers allow sound only after a user gesture: the first click anywhere unlocks it.
document.addEventListener("click", () => { if (!audioCtx && window.AudioContext) audioCtx = new AudioContext(); }, { once: true, capture: true });
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    if (!audioCtx && window.AudioContext) audioCtx = new AudioContext(); // unlocked by this click
    S.me = await api("/api/login", { body: { name: $("login-name").value, password: $("login-password").value } });
    $("login-password").value = "";
    await start();
  } catch (e) {
    $("login-error").textContent = e.status === 401 ? "Wrong name or password." : "Login failed: " + e.message;
  }
});
$("logout").addEventListener("click", async () => {
  try { await api("/api/logout", { body: {} }); } catch (e) { /* already logged out */ }
  S.me = null;
  showLogin("Logged out.");
});

async function boot() {
  try { S.me = await api("/api/me"); } catch (e) { showLogin(""); return; }
  await start();
}

async function start() {
  $("login").classList.add("hidden");
  $("user").textContent = `${S.me.name} (${S.me.role})`;
  if (!S.site) {
    S.site = await api("/api/site");
    setupSite();
  }
  connect();
}

function setupSite() {
  const site = S.site;
  $("site-name").textContent = site.name;
  document.title = site.name + " — Fence console";
  for (const z of site.zones) S.zonesById.set(z.id, z);
  for (const t of site.terminals) S.termInfo.set(t.id, t);
  const roles = [...new Set(site.terminals.map((t) => t.roles[0]).filter(Boolean))].sort();
  roles.forEach((r, i) => S.roleColour.set(r, ROLE_COLOURS[i % ROLE_COLOURS.length]));
  const kinds = [...new Set(site.zones.map((z) => z.kind || "zone"))].sort();
  kinds.forEach((k, i) => S.kindColour.set(k, KIND_COLOURS[i % KIND_COLOURS.length]));
  $("role-legend").innerHTML = roles.map((r) => `<span class="role"><i data-c="${esc(S.roleColour.get(r))}"></i>${esc(r)}</span>`).join("") + '<span class="role"><i data-c="#d8dee9"></i>no role</span>';
  for (const i of $("role-legend").querySelectorAll("i")) i.style.background = i.dataset.c;
  for (const t of TYPES) $("filter-type").insertAdjacentHTML("beforeend", `<option value="${t}">${t}</option>`);
  for (const z of site.zones) $("filter-zone").insertAdjacentHTML("beforeend", `<option value="${esc(z.id)}">${esc(z.name)}</option>`);
  buildZonePaths();
  fitView();
  renderZoneTable();
}

// ---------------------------------------------------------------- live stream
function setConn(ok, text) {
  const el = $("conn");
  el.className = "conn " + (ok ? "live" : "offline");
  el.textContent = text;
}
function connect() {
  if (S.es) S.es.close();
  clearTimeout(S.reconnectTimer);
  const es = new EventSource("/api/stream");
  S.es = es;
  setConn(false, "connecting");
  es.onopen = () => setConn(true, "live");
  es.onmessage = (m) => onMessage(m.data);
  es.addEventListener("logout", () => { es.close(); showLogin("Session expired — log in again."); });
  es.onerror = async () => {
    setConn(false, "reconnecting");
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. 401 or server restart): check the session, retry.
      S.reconnectTimer = setTimeout(async () => {
        try { S.me = await api("/api/me"); connect(); } catch (e) { if (e.status !== 401) S.reconnectTimer = setTimeout(connect, 2000); }
      }, 2000);
    }
  };
}

function onMessage(raw) {
  const t0 = performance.now();
  const msg = JSON.parse(raw);
  const t1 = performance.now();
  if (msg.type === "snapshot") applySnapshot(msg);
  else if (msg.type === "delta") applyDelta(msg);
  else if (msg.type === "events") applyEvents(msg.events, true);
  else if (msg.type === "ack") applyAck(msg.id, msg.ack);
  const t2 = performance.now();
  S.perf.updates.push({ type: msg.type, bytes: raw.length, parse_ms: t1 - t0, apply_ms: t2 - t1, at: t0 });
  if (S.perf.updates.length > 2000) S.perf.updates.splice(0, 1000);
  S.dirty = true;
}

function setTerminalRow(r) {
  const t = S.terminals.get(r[0]);
  if (t === undefined) { S.terminals.set(r[0], { id: r[0], x: r[1], y: r[2], q: r[3], t: r[4], online: r[5] === 1, zones: r[6] }); return; }
  t.x = r[1]; t.y = r[2]; t.q = r[3]; t.t = r[4]; t.online = r[5] === 1; t.zones = r[6];
}
function setZoneRow(r) { S.zoneLive.set(r[0], { count: r[1], members: r[2], over: r[3] === 1, under: r[4] === 1 }); }

function applySnapshot(msg) {
  S.terminals.clear();
  S.zoneLive.clear();
  for (const r of msg.terminals) setTerminalRow(r);
  for (const r of msg.zones) setZoneRow(r);
  S.clockMs = msg.clock_ms;
  S.alarms.clear();
  applyEvents(msg.alarms, false);
  renderAll();
}
function applyDelta(msg) {
  S.clockMs = msg.clock_ms;
  for (const r of msg.terminals) setTerminalRow(r);
  for (const id of msg.gone) S.terminals.delete(id);
  for (const r of msg.zones) setZoneRow(r);
  if (msg.zones.length) renderZoneTable();
  scheduleHeader();
}

function condKey(e) { return `${e.type}|${e.zone}|${e.terminal}`; }

function applyEvents(events, live) {
  let fresh = 9;  // most severe new alarm (rank), 9: none
  for (const e of events) {
    if (e.state === "raised") {
      if (S.alarms.has(e.id)) continue;
      S.alarms.set(e.id, e);
      if (live) { S.newUntil.set(e.id, Date.now() + NEW_HIGHLIGHT_MS); fresh = Math.min(fresh, SEVERITY_RANK[e.severity] ?? 2); }
    } else {
      const key = condKey(e);
      for (const [id, a] of S.alarms) {
        if (condKey(a) === key && eventMs(a) <= eventMs(e)) {
          S.alarms.delete(id);
          S.cleared.unshift(Object.assign({}, a, { cleared: e }));
        }
      }
      if (S.cleared.length > 500) S.cleared.length = 500;
    }
  }
  if (fresh < 9) beep(fresh);
  renderAlarms();
  if (live) renderCleared();
  if (S.selectedZone && events.some((e) => e.zone === S.selectedZone)) showZone(S.selectedZone);
}
function applyAck(id, ack) {
  const a = S.alarms.get(id);
  if (a) a.ack = ack;
  for (const c of S.cleared) if (c.id === id) c.ack = ack;
  renderAlarms();
  renderCleared();
}

// ---------------------------------------------------------------- sound
// Critical: three tones; major: two; minor: one.
function beep(rank) {
  if (S.muted || !audioCtx) return;
  try {
    if (audioCtx.state === "suspended") audioCtx.resume();
    const now = audioCtx.currentTime;
    for (const [i, f] of [[0, 880], [1, 660], [2, 880]].slice(0, 3 - rank)) {
      const o = audioCtx.createOscillator(), g = audioCtx.createGain();
      o.frequency.value = f; o.type = "square";
      g.gain.setValueAtTime(0.0001, now + i * 0.18);
      g.gain.exponentialRampToValueAtTime(0.15, now + i * 0.18 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.15);
      o.connect(g).connect(audioCtx.destination);
      o.start(now + i * 0.18); o.stop(now + i * 0.18 + 0.16);
    }
    window.__fenceBeeps = (window.__fenceBeeps || 0) + 1;
  } catch (e) { /* audio unavailable */ }
}
function renderMute() { $("mute").textContent = S.muted ? "Sound: muted" : "Sound: on"; $("mute").classList.toggle("muted-btn", S.muted); }
$("mute").addEventListener("click", () => {
  S.muted = !S.muted;
  localStorage.setItem("fence.muted", S.muted ? "1" : "0");
  if (!audioCtx && window.AudioContext) audioCtx = new AudioContext();
  renderMute();
function renderLegend() { $("legend").classList.toggle("hidden", localStorage.getItem("fence.legend") === "0"); }
$("legend-toggle").addEventListener("click", () => {
  localStorage.setItem("fence.legend", $("legend").classList.contains("hidden") ? "1" : "0");
  renderLegend();
});
renderLegend();
});
renderMute();

// ---------------------------------------------------------------- alarms
function termName(id) { const i = S.termInfo.get(id); return i ? i.name : id; }
function zoneName(id) { const z = S.zonesById.get(id); return z ? z.name : id; }
function whereText(e) {
  const parts = [];
  if (e.terminal) parts.push(`<a data-term="${esc(e.terminal)}">${esc(e.terminal_name || termName(e.terminal))}</a>`);
  if (e.zone) parts.push(`in <a data-zone="${esc(e.zone)}">${esc(e.zone_name || zoneName(e.zone))}</a>`);
  if (e.count !== undefined && e.count !== null) parts.push(`count ${e.count} / limit ${e.limit}`);
  return parts.join(" ");
}
function ackText(ack) {
  if (!ack) return "";
  return `<div class="ackinfo">✔ acknowledged by <b>${esc(ack.operator)}</b> at ${esc(fmtTime(ack.t_ms, true))}${ack.note ? ": " + esc(ack.note) : ""}</div>`;
}
function alarmItem(a, withAck) {
  const isNew = (S.newUntil.get(a.id) || 0) > Date.now();
  const canAck = withAck && !a.ack && S.me && S.me.role === "operator";
  return `<li class="alarm sev-${esc(a.severity)}${isNew ? " new" : ""}${a.ack ? " acked" : ""}" data-id="${esc(a.id)}">
    <div class="head"><span class="type">${esc(a.type)}</span><span class="sev">${esc(a.severity)}</span></div>
    <div class="where">${whereText(a)}</div>
    <div class="when">raised ${esc(fmtTime(eventMs(a), true))}${a.cleared ? " · cleared " + esc(fmtTime(eventMs(a.cleared), true)) : ""}</div>
    ${ackText(a.ack)}
    ${canAck ? `<div class="actions"><button type="button" class="ack-btn" data-ack="${esc(a.id)}">Acknowledge</button></div>` : ""}
  </li>`;
}
function sortedAlarms() {
  const ft = $("filter-type").value, fz = $("filter-zone").value;
  return [...S.alarms.values()]
    .filter((a) => (!ft || a.type === ft) && (!fz || a.zone === fz))
    .sort((a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) || eventMs(b) - eventMs(a) || (a.id < b.id ? 1 : -1));
}
function renderAlarms() {
  const list = sortedAlarms();
  $("alarm-list").innerHTML = list.length ? list.map((a) => alarmItem(a, true)).join("") : '<li class="muted">No open alarms.</li>';
  $("alarm-count").textContent = String(S.alarms.size);
}
function renderCleared() {
  // an alarm that cleared before anyone acknowledged it can still be acknowledged here
  $("cleared-list").innerHTML = S.cleared.length ? S.cleared.map((a) => alarmItem(a, true)).join("") : '<li class="muted">No cleared alarms yet.</li>';
}
$("filter-type").addEventListener("change", renderAlarms);
$("filter-zone").addEventListener("change", renderAlarms);
setInterval(() => { if ([...S.newUntil.values()].some((t) => t > Date.now() - 1500)) renderAlarms(); for (const [k, v] of S.newUntil) if (v < Date.now() - 2000) S.newUntil.delete(k); }, 1000);

document.addEventListener("click", (ev) => {
  const t = ev.target.closest("[data-term],[data-zone],[data-ack]");
  if (!t) return;
  if (t.dataset.ack) openAck(t.dataset.ack);
  else if (t.dataset.term) selectTerminal(t.dataset.term, true);
  else if (t.dataset.zone) { switchTab("zones"); showZone(t.dataset.zone); }
});

let ackId = null;
function openAck(id) {
  const a = S.alarms.get(id) || S.cleared.find((c) => c.id === id);
  if (!a) return;
  ackId = id;
  $("ack-what").innerHTML = `<b>${esc(a.type)}</b> ${whereText(a)} — ${esc(fmtTime(eventMs(a), true))}`;
  $("ack-operator").textContent = S.me.name;
  $("ack-note").value = "";
  $("ack-error").textContent = "";
  $("ack-dialog").classList.remove("hidden");
  $("ack-note").focus();
}
$("ack-cancel").addEventListener("click", () => $("ack-dialog").classList.add("hidden"));
$("ack-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const obj = await api(`/api/alarms/${encodeURIComponent(ackId)}/ack`, { body: { note: $("ack-note").value } });
    applyAck(ackId, obj.ack);
    $("ack-dialog").classList.add("hidden");
  } catch (e) {
    $("ack-error").textContent = e.status === 403 ? "Only an operator may acknowledge alarms." : "Not acknowledged: " + e.message;
  }
});

async function loadCleared() {
  try {
    const data = await api("/api/alarms/history?limit=200");
    S.cleared = data.alarms;
    renderCleared();
  } catch (e) { /* shown by api() on 401 */ }
}

// ---------------------------------------------------------------- tabs
function switchTab(name) {
  for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.id === "tab-" + name);
  if (name === "cleared") loadCleared();
}
for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => switchTab(b.dataset.tab));

// ---------------------------------------------------------------- zones panel
function limitsText(z) {
  const parts = [];
  if (z.max_occupancy !== null) parts.push(`max ${z.max_occupancy}`);
  if (z.min_occupancy !== null) parts.push(`min ${z.min_occupancy}${z.staffed ? " (" + z.staffed.join(", ") + ")" : ""}`);
  if (z.max_dwell_s !== null) parts.push(`dwell ≤ ${z.max_dwell_s} s`);
  if (z.max_still_s !== null) parts.push(`still ≤ ${z.max_still_s} s`);
  if (z.hold_s) parts.push(`hold ${z.hold_s} s`);
  return parts.join(", ") || "no limits";
}
function renderZoneTable() {
  if (!S.site) return;
  $("zone-rows").innerHTML = S.site.zones.map((z) => {
    const live = S.zoneLive.get(z.id);
    const cls = [live && live.over ? "over" : "", live && live.under ? "under" : "", S.selectedZone === z.id ? "sel" : ""].join(" ");
    return `<tr data-zone="${esc(z.id)}" class="${cls}"><td>${esc(z.name)}${z.access === "restricted" ? ' <span class="tag">restricted</span>' : ""}</td><td class="count">${live ? live.count : 0}</td><td>${z.min_occupancy ?? "—"}</td><td>${z.max_occupancy ?? "—"}</td></tr>`;
  }).join("");
  if (S.selectedZone) showZone(S.selectedZone, false);
}
function counted(z, t) {
  const info = S.termInfo.get(t.id);
  return t.online && z.count_kinds.includes(info ? info.kind : "person");
}
async function showZone(id, fetchEvents = true) {
  const z = S.zonesById.get(id);
  if (!z) return;
  const changed = S.selectedZone !== id;
  S.selectedZone = id;
  const live = S.zoneLive.get(id) || { count: 0, members: [], over: false, under: false };
  const inside = [...S.terminals.values()].filter((t) => t.zones.includes(id));
  const limit = z.max_occupancy ?? Math.max(z.min_occupancy ?? 0, live.count, 1);
  const barCls = live.over ? "over" : live.under ? "under" : "";
  const detail = $("zone-detail");
  let events = detail.dataset.zone === id ? detail.querySelector(".zone-events")?.outerHTML || "" : "";
  detail.dataset.zone = id;
  detail.innerHTML = `<h3>${esc(z.name)}</h3>
    <dl><dt>access</dt><dd>${esc(z.access)}${z.permits ? " (" + z.permits + " permits)" : ""}</dd>
    <dt>kind</dt><dd>${esc(z.kind || "—")}</dd>
    <dt>occupancy</dt><dd id="zone-occupancy"><b>${live.count}</b>${z.max_occupancy !== null ? " / max " + z.max_occupancy : ""}${z.min_occupancy !== null ? " · min " + z.min_occupancy : ""}${live.over ? " · OVERCROWDED" : ""}${live.under ? " · UNDERMANNED" : ""}</dd>
    <dt>limits</dt><dd>${esc(limitsText(z))}</dd></dl>
    ${z.max_occupancy !== null ? `<div class="occ-bar ${barCls}"><div></div></div>` : ""}
    <b>Inside (${inside.length})</b>
    <ul id="zone-inside">${inside.map((t) => `<li><a data-term="${esc(t.id)}">${esc(termName(t.id))}</a> <span class="muted">${esc(t.id)}${t.online ? "" : " · offline"}${counted(z, t) ? "" : " · not counted"}</span></li>`).join("") || '<li class="muted">nobody</li>'}</ul>
    ${events}`;
  const bar = detail.querySelector(".occ-bar > div");
  if (bar) bar.style.width = Math.min(100, (100 * live.count) / limit) + "%";
  if (changed) { for (const tr of $("zone-rows").children) tr.classList.toggle("sel", tr.dataset.zone === id); S.dirty = true; }
  if (fetchEvents) {
    try {
      const doc = await api(`/api/zones/${encodeURIComponent(id)}`);
      const html = `<div class="zone-events"><b>Recent events</b><ul class="alarms">${doc.events.map((e) => `<li class="muted">${esc(fmtTime(eventMs(e), true))} ${esc(e.type)} ${esc(e.state)} ${e.terminal ? esc(termName(e.terminal)) : ""}</li>`).join("") || '<li class="muted">none</li>'}</ul></div>`;
      const old = detail.querySelector(".zone-events");
      if (old) old.outerHTML = html; else detail.insertAdjacentHTML("beforeend", html);
    } catch (e) { /* ignore */ }
  }
}
$("zone-rows").addEventListener("click", (ev) => { const tr = ev.target.closest("tr"); if (tr) showZone(tr.dataset.zone); });

// ---------------------------------------------------------------- terminal panel
let terminalTimer = null;
async function selectTerminal(id, center) {
  S.selected = id;
  switchTab("terminal");
  const t = S.terminals.get(id);
  if (center && t && t.x !== null) { view.cx = t.x; view.cy = t.y; view.scale = Math.max(view.scale, 2); }
  S.dirty = true;
  await refreshTerminal();
  clearInterval(terminalTimer);
  terminalTimer = setInterval(() => { if (S.selected && $("tab-terminal").classList.contains("active")) refreshTerminal(); }, 3000);
}
async function refreshTerminal() {
  const id = S.selected;
  let doc;
  try { doc = await api(`/api/terminals/${encodeURIComponent(id)}`); } catch (e) {
    $("terminal-detail").innerHTML = `<p class="error">${esc(id)}: ${esc(e.message)}</p>`; return;
  }
  if (S.selected !== id) return;
  S.track = doc.track;
  const L = doc.live;
  const age = L && doc.clock_ms !== null && L.fix_t_ms !== null ? doc.clock_ms - L.fix_t_ms : null;
  $("terminal-detail").innerHTML = `<h3>${esc(doc.name)} <span class="muted">${esc(doc.id)}</span></h3>
    <dl><dt>kind</dt><dd>${esc(doc.kind)}</dd>
    <dt>roles</dt><dd>${esc(doc.roles.join(", ") || "none")}${doc.registered ? "" : " (unregistered)"}</dd>
    <dt>status</dt><dd id="term-status">${L ? (L.online ? "online" : "OFFLINE, last fix " + fmtAge(age) + " ago") : "never heard"}</dd>
    <dt>last fix</dt><dd>${L ? esc(fmtTime(L.fix_t_ms, true)) + (age !== null ? " (" + fmtAge(age) + " ago)" : "") : "—"}</dd>
    <dt>quality</dt><dd id="term-quality">${L && L.quality !== null ? esc(QUALITY[L.quality] || "q" + L.quality) : "—"}</dd>
    <dt>position</dt><dd>${L && L.lat !== null ? L.lat.toFixed(7) + ", " + L.lon.toFixed(7) : "—"}</dd>
    <dt>zones</dt><dd id="term-zones">${L && L.zones.length ? L.zones.map((z) => `<a data-zone="${esc(z)}">${esc(zoneName(z))}</a>`).join(", ") : "none"}</dd>
    <dt>track</dt><dd>${doc.track.length} points, last minutes</dd></dl>
    <b>Recent events</b><ul class="alarms">${doc.events.map((e) => `<li class="muted">${esc(fmtTime(eventMs(e), true))} ${esc(e.type)} ${esc(e.state)} ${e.zone ? "in " + esc(zoneName(e.zone)) : ""}${e.ack ? " ✔ " + esc(e.ack.operator) : ""}</li>`).join("") || '<li class="muted">none</li>'}</ul>`;
  S.dirty = true;
}

// ---------------------------------------------------------------- search
function searchMatches(q) {
  q = q.trim().toLowerCase();
  if (!q) return [];
  const out = [];
  const ids = new Set([...S.terminals.keys(), ...S.termInfo.keys()]);
  for (const id of ids) {
    const name = termName(id);
    if (id.toLowerCase() === q || name.toLowerCase() === q) out.unshift(id);
    else if (id.toLowerCase().includes(q) || name.toLowerCase().includes(q)) out.push(id);
    if (out.length > 40) break;
  }
  return out.slice(0, 10);
}
$("search").addEventListener("input", () => {
  const m = searchMatches($("search").value);
  $("search-results").innerHTML = m.map((id) => `<li data-pick="${esc(id)}">${esc(termName(id))} <span class="muted">${esc(id)}</span></li>`).join("");
});
$("search").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") { const m = searchMatches($("search").value); if (m.length) pick(m[0]); }
  if (ev.key === "Escape") $("search-results").innerHTML = "";
});
$("search-results").addEventListener("click", (ev) => { const li = ev.target.closest("li"); if (li) pick(li.dataset.pick); });
function pick(id) { $("search-results").innerHTML = ""; $("search").value = termName(id); selectTerminal(id, true); }

// ---------------------------------------------------------------- header
let headerPending = false;
function renderHeader() {
  $("clock").textContent = fmtTime(S.replay ? S.replay.t : S.clockMs, true);
  let online = 0;
  for (const t of S.terminals.values()) if (t.online) online++;
  $("counts").textContent = `${online} online / ${S.terminals.size} terminals`;
  if (S.selectedZone && $("tab-zones").classList.contains("active")) showZone(S.selectedZone, false);
}
function scheduleHeader() {  // at most four times a second
  if (headerPending) return;
  headerPending = true;
  setTimeout(() => { headerPending = false; renderHeader(); }, 250);
}
function renderAll() { renderAlarms(); renderZoneTable(); renderHeader(); }

// ---------------------------------------------------------------- map
const canvas = $("map");
const ctx = canvas.getContext("2d");
const view = { cx: 0, cy: 0, scale: 1, ox: 0, oy: 0 }; // metres centre, px per metre, origin
let zonePaths = [];
function buildZonePaths() {
  const b = S.site.bounds;
  view.ox = (b[0] + b[2]) / 2; view.oy = (b[1] + b[3]) / 2; // paths relative to origin (float precision)
  zonePaths = S.site.zones.map((z) => {
    const p = new Path2D();
    for (const poly of z.polygons) for (const ring of poly) {
      ring.forEach(([x, y], i) => (i ? p.lineTo(x - view.ox, y - view.oy) : p.moveTo(x - view.ox, y - view.oy)));
      p.closePath();
    }
    const shell = z.polygons[0][0];
    let cx = 0, cy = 0, area = 0;
    for (const poly of z.polygons) {  // label anchor: shell centroid of the largest part
      const ring = poly[0];
      let a = 0, sx = 0, sy = 0;
      for (let i = 0; i < ring.length - 1; i++) {  // shoelace, relative to the origin
        const u0 = ring[i][0] - view.ox, v0 = ring[i][1] - view.oy;
        const u1 = ring[i + 1][0] - view.ox, v1 = ring[i + 1][1] - view.oy;
        const c = u0 * v1 - u1 * v0;
        a += c; sx += (u0 + u1) * c; sy += (v0 + v1) * c;
      }
      if (Math.abs(a) > Math.abs(area)) { area = a; cx = sx / (3 * a) + view.ox; cy = sy / (3 * a) + view.oy; }
    }
    if (!area) { cx = shell[0][0]; cy = shell[0][1]; }
    return { zone: z, path: p, cx, cy, area: Math.abs(area / 2), colour: z.access === "restricted" ? "#ff5a4e" : S.kindColour.get(z.kind || "zone") };
  });
}
function fitView() {
  const b = S.site.bounds, r = canvas.getBoundingClientRect();
  view.cx = (b[0] + b[2]) / 2; view.cy = (b[1] + b[3]) / 2;
  view.scale = Math.min(r.width / Math.max(b[2] - b[0], 1), r.height / Math.max(b[3] - b[1], 1)) * 0.9;
  S.dirty = true;
}
function toScreen(x, y) { return [(x - view.cx) * view.scale + canvas.clientWidth / 2, canvas.clientHeight / 2 - (y - view.cy) * view.scale]; }
function toWorld(px, py) { return [(px - canvas.clientWidth / 2) / view.scale + view.cx, view.cy - (py - canvas.clientHeight / 2) / view.scale]; }

function markerStyle(t, info) {
  if (!t.online) return "#5d6673";
  const role = info && info.roles.length ? info.roles[0] : null;
  return (role && S.roleColour.get(role)) || "#d8dee9";
}
function qualityRing(q) { return q === 4 ? "#ffffff" : q === 5 ? "#f5c542" : "#ff6b6b"; }

function currentPositions() {
  if (!S.replay) return S.terminals.values();
  return S.replay.positions();
}

function draw() {
  const t0 = performance.now();
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!S.site) return;
  // zones in world coordinates (relative to origin)
  const s = view.scale;
  ctx.save();
  ctx.setTransform(dpr * s, 0, 0, -dpr * s, dpr * (w / 2 - (view.cx - view.ox) * s), dpr * (h / 2 + (view.cy - view.oy) * s));
  for (const zp of zonePaths) {
    const live = S.replay ? null : S.zoneLive.get(zp.zone.id);
    ctx.fillStyle = zp.colour + (zp.zone.id === S.selectedZone ? "55" : "26");
    ctx.fill(zp.path, "evenodd");
    ctx.lineWidth = (live && (live.over || live.under) ? 3.5 : zp.zone.id === S.selectedZone ? 3 : 1.5) / s;
    ctx.setLineDash(zp.zone.access === "restricted" ? [8 / s, 5 / s] : []);
    ctx.strokeStyle = live && (live.over || live.under) ? (Date.now() % 1000 < 500 ? "#ff9f1a" : zp.colour) : zp.colour;
    ctx.stroke(zp.path);
  }
  ctx.restore();
  ctx.setLineDash([]);
  // recent track of the selected terminal
  if (S.track && S.track.length > 1 && !S.replay) {
    ctx.beginPath();
    S.track.forEach(([, x, y], i) => { const [px, py] = toScreen(x, y); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
    ctx.strokeStyle = "#ffd54f"; ctx.lineWidth = 2; ctx.stroke();
  }
  // terminals, batched by style: one path per (colour, shape, ring). With thousands on
  // screen, plain squares without quality rings (much cheaper to rasterise).
  const groups = new Map();
  const alarmed = new Set();
  if (!S.replay) for (const a of S.alarms.values()) if (a.terminal && a.severity === "critical") alarmed.add(a.terminal);
  const visible = [];
  for (const t of currentPositions()) {
    if (t.x === null) continue;
    const px = (t.x - view.cx) * view.scale + w / 2, py = h / 2 - (t.y - view.cy) * view.scale;
    if (px < -10 || py < -10 || px > w + 10 || py > h + 10) continue;
    visible.push(t, px, py);
  }
  const onScreen = visible.length / 3;
  const dense = onScreen > 2500;
  const r = dense ? 2 : view.scale > 1.5 ? 5 : view.scale > 0.4 ? 4 : 3;
  const labels = [];
  for (let i = 0; i < visible.length; i += 3) {
    const t = visible[i], px = visible[i + 1], py = visible[i + 2];
    const info = S.termInfo.get(t.id);
    const kind = info ? info.kind : "person";
    const key = markerStyle(t, info) + "|" + kind + "|" + (dense ? "" : t.online ? qualityRing(t.q) : "#3a414c");
    let g = groups.get(key);
    if (!g) { g = new Path2D(); groups.set(key, g); }
    if (dense || kind === "vehicle") g.rect(px - r - 1, py - r - 1, 2 * r + 2, 2 * r + 2);
    else { g.moveTo(px + r, py); g.arc(px, py, r, 0, 2 * Math.PI); }
    if (alarmed.has(t.id) || t.id === S.selected || (!dense && (view.scale > 3 || !t.online) && labels.length < 400)) labels.push([t, px, py]);
  }
  ctx.lineWidth = 1.6;
  for (const [key, path] of groups) {
    const [fill, , ring] = key.split("|");
    ctx.fillStyle = fill; ctx.fill(path);
    if (ring) { ctx.strokeStyle = ring; ctx.stroke(path); }
  }
  // zone names: larger zones first, a label that would overlap one already drawn is left
  // out (hover or zoom in to see it); selected and alarming zones always get theirs
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  const placed = [];
  const order = zonePaths.map((zp) => {
    const live = S.replay ? null : S.zoneLive.get(zp.zone.id);
    const urgent = zp.zone.id === S.selectedZone || (live && (live.over || live.under));
    return { zp, live, rank: (urgent ? 1e12 : 0) + zp.area };
  }).sort((a, b) => b.rank - a.rank);
  for (const { zp, live } of order) {
    const [px, py] = toScreen(zp.cx, zp.cy);
    const label = `${zp.zone.name}${live ? " · " + live.count : ""}`;
    const tw = ctx.measureText(label).width;
    const box = [px - tw / 2 - 3, py - 12, tw + 6, 16];
    if (!place(placed, box)) continue;
    ctx.fillStyle = "rgba(12,16,22,.75)"; ctx.fillRect(...box);
    ctx.fillStyle = "rgba(230,233,239,.95)";
    ctx.fillText(label, px, py);
  }
  // halos and labels (few)
  ctx.textAlign = "left";
  ctx.font = "11px system-ui, sans-serif";
  const clock = S.replay ? S.replay.t : S.clockMs;
  const urgent = (t) => (t.id === S.selected || alarmed.has(t.id) ? 0 : 1);
  labels.sort((a, b) => urgent(a[0]) - urgent(b[0]));  // selected and alarming get their labels first
  for (const [t, px, py] of labels) {
    if (alarmed.has(t.id)) { ctx.beginPath(); ctx.arc(px, py, r + 5 + 2 * Math.sin(Date.now() / 150), 0, 2 * Math.PI); ctx.strokeStyle = "#ff4d3d"; ctx.lineWidth = 2; ctx.stroke(); }
    if (t.id === S.selected) { ctx.beginPath(); ctx.arc(px, py, r + 8, 0, 2 * Math.PI); ctx.strokeStyle = "#ffd54f"; ctx.lineWidth = 2; ctx.stroke(); }
    const age = !t.online && clock !== null && t.t !== null ? " (" + fmtAge(clock - t.t) + ")" : "";
    ctx.fillStyle = t.online ? "#e6e9ef" : "#9aa3b0";
    const label = termName(t.id) + age, tw = ctx.measureText(label).width;
    const lx = px + r + 4 + tw > w ? px - r - 4 - tw : px + r + 4;
    const must = t.id === S.selected || alarmed.has(t.id);
    if (!place(placed, [lx, py - r - 12, tw, 12]) && !must) continue;  // no overlapping labels
    ctx.fillText(label, lx, py - r - 2);
  }
  S.perf.frames.push({ draw_ms: performance.now() - t0, at: t0, drawn: onScreen });
  if (S.perf.frames.length > 2000) S.perf.frames.splice(0, 1000);
}

// Keep a label only when its box overlaps none already placed in this frame.
function place(placed, box) {
  if (placed.some((b) => box[0] < b[0] + b[2] && b[0] < box[0] + box[2] && box[1] < b[1] + b[3] && b[1] < box[1] + box[3])) return false;
  placed.push(box);
  return true;
}

function loop() {
  const animating = [...S.zoneLive.values()].some((z) => z.over || z.under) || S.alarms.size > 0;
  if (S.dirty || animating) { S.dirty = false; draw(); }
  requestAnimationFrame(loop);
}
requestAnimationFrame(loop);
window.addEventListener("resize", () => { S.dirty = true; });

// pan and zoom
let drag = null;
canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, cx: view.cx, cy: view.cy, moved: false }; canvas.classList.add("dragging"); });
window.addEventListener("mouseup", (ev) => {
  canvas.classList.remove("dragging");
  if (drag && !drag.moved && ev.target === canvas) clickMap(ev);
  drag = null;
});
window.addEventListener("mousemove", (ev) => {
  if (drag) {
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.cx = drag.cx - dx / view.scale; view.cy = drag.cy + dy / view.scale; S.dirty = true;
  } else if (ev.target === canvas) hover(ev);
  else $("tooltip").classList.add("hidden");
});
canvas.addEventListener("wheel", (ev) => {
  ev.preventDefault();
  zoomAt(ev.offsetX, ev.offsetY, ev.deltaY < 0 ? 1.25 : 0.8);
}, { passive: false });
function zoomAt(px, py, f) {
  const [wx, wy] = toWorld(px, py);
  view.scale = Math.min(200, Math.max(0.01, view.scale * f));
  const [nx, ny] = toWorld(px, py);
  view.cx += wx - nx; view.cy += wy - ny; S.dirty = true;
}
$("zoom-in").addEventListener("click", () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1.5));
$("zoom-out").addEventListener("click", () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1 / 1.5));
$("zoom-fit").addEventListener("click", fitView);

function nearestTerminal(px, py) {
  let best = null, bd = 12 * 12;
  for (const t of currentPositions()) {
    if (t.x === null) continue;
    const [sx, sy] = toScreen(t.x, t.y);
    const d = (sx - px) ** 2 + (sy - py) ** 2;
    if (d < bd) { bd = d; best = t; }
  }
  return best;
}
function zoneAt(px, py) {
  const [wx, wy] = toWorld(px, py);
  for (let i = zonePaths.length - 1; i >= 0; i--) if (ctx.isPointInPath(zonePathsHit(i), wx - view.ox, wy - view.oy, "evenodd")) return zonePaths[i].zone;
  return null;
}
function zonePathsHit(i) { ctx.setTransform(1, 0, 0, 1, 0, 0); return zonePaths[i].path; }
function hover(ev) {
  const tip = $("tooltip");
  const t = nearestTerminal(ev.offsetX, ev.offsetY);
  let text = null;
  const clock = S.replay ? S.replay.t : S.clockMs;
  if (t) {
    text = `${termName(t.id)} (${t.id})\n${QUALITY[t.q] || "q" + t.q}, ${t.online ? "online" : "offline, last fix " + fmtAge(clock - t.t) + " ago"}\nzones: ${(t.zones || []).map(zoneName).join(", ") || "none"}`;
  } else {
    const z = zoneAt(ev.offsetX, ev.offsetY);
    if (z) {
      const live = S.zoneLive.get(z.id);
      text = `${z.name} (${z.id})\n${z.access}${z.kind ? ", " + z.kind : ""}\ncount ${live ? live.count : 0}\n${limitsText(z)}`;
    }
  }
  if (!text) { tip.classList.add("hidden"); return; }
  tip.textContent = text;
  tip.classList.remove("hidden");
  const left = ev.offsetX + 14 + tip.offsetWidth > canvas.clientWidth ? ev.offsetX - 14 - tip.offsetWidth : ev.offsetX + 14;
  const top = ev.offsetY + 14 + tip.offsetHeight > canvas.clientHeight ? ev.offsetY - 14 - tip.offsetHeight : ev.offsetY + 14;
  tip.style.left = Math.max(0, left) + "px"; tip.style.top = Math.max(0, top) + "px";
}
function clickMap(ev) {
  const r = canvas.getBoundingClientRect();
  const px = ev.clientX - r.left, py = ev.clientY - r.top;
  const t = nearestTerminal(px, py);
  if (t) { selectTerminal(t.id, false); return; }
  const z = zoneAt(px, py);
  if (z) { switchTab("zones"); showZone(z.id); }
}

// ---------------------------------------------------------------- history replay
// The From/To inputs are wall-clock times in the site's time zone (as everything shown).
function siteOffsetMs(ms) {
  const tz = (S.site && S.site.timezone) || "UTC";
  const parts = {};
  for (const p of new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}
function localInput(ms) { return new Date(ms + siteOffsetMs(ms)).toISOString().slice(0, 19); }
function fromLocalInput(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return NaN;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  const guess = wall - siteOffsetMs(wall);
  return wall - siteOffsetMs(guess);
}
function initReplayInputs() {
  const now = S.clockMs || Date.now();
  if (!$("replay-from").value) $("replay-from").value = localInput(now - 15 * 60000);
  if (!$("replay-to").value) $("replay-to").value = localInput(now);
}
document.querySelector('[data-tab="replay"]').addEventListener("click", initReplayInputs);
$("replay-load").addEventListener("click", async () => {
  const from = fromLocalInput($("replay-from").value), to = fromLocalInput($("replay-to").value);
  if (!(to > from)) { $("replay-info").textContent = "Pick a range with From before To."; return; }
  $("replay-info").textContent = "Loading…";
  let doc;
  try { doc = await api(`/api/history?from=${from}&to=${to}`); } catch (e) { $("replay-info").textContent = "Cannot load: " + e.message; return; }
  const tracks = new Map(Object.entries(doc.tracks));
  let n = 0; for (const v of tracks.values()) n += v.length;
  S.replay = {
    from, to, tracks, events: doc.events.map((e) => Object.assign(e, { ms: eventMs(e) })), t: from, playing: false,
    positions() {
      const out = [];
      for (const [id, pts] of this.tracks) {
        let lo = 0, hi = pts.length - 1, k = -1;
        while (lo <= hi) { const m = (lo + hi) >> 1; if (pts[m][0] <= this.t) { k = m; lo = m + 1; } else hi = m - 1; }
        if (k < 0) continue;
        const p = pts[k];
        out.push({ id, x: p[1], y: p[2], q: p[3], t: p[0], online: this.t - p[0] < 60000, zones: [] });
      }
      return out;
    },
  };
  $("replay-slider").disabled = false; $("replay-play").disabled = false;
  $("replay-slider").value = 0;
  $("replay-info").textContent = `${tracks.size} terminals, ${n} positions${doc.truncated ? " (truncated)" : ""}, ${doc.events.length} events, one position per ${doc.step_ms / 1000} s at most.`;
  $("mode").textContent = "REPLAY";
  renderReplay();
});
function renderReplay() {
  const R = S.replay;
  if (!R) return;
  $("replay-time").textContent = fmtTime(R.t, true);
  const shown = R.events.filter((e) => e.ms <= R.t).slice(-30).reverse();
  $("replay-events").innerHTML = shown.map((e) => `<li class="alarm sev-${esc(e.severity)}"><div class="head"><span class="type">${esc(e.type)} ${esc(e.state)}</span><span class="when">${esc(fmtTime(e.ms, true))}</span></div><div class="where">${whereText(e)}</div>${ackText(e.ack)}</li>`).join("") || '<li class="muted">no events yet at this time</li>';
  scheduleHeader();
  S.dirty = true;
}
$("replay-slider").addEventListener("input", () => {
  const R = S.replay; if (!R) return;
  R.t = R.from + (R.to - R.from) * ($("replay-slider").value / 1000);
  renderReplay();
});
let playTimer = null;
$("replay-play").addEventListener("click", () => {
  const R = S.replay; if (!R) return;
  R.playing = !R.playing;
  $("replay-play").textContent = R.playing ? "⏸" : "▶";
  clearInterval(playTimer);
  if (R.playing) playTimer = setInterval(() => {
    R.t = Math.min(R.to, R.t + 200 * Number($("replay-speed").value));
    $("replay-slider").value = Math.round(1000 * (R.t - R.from) / (R.to - R.from));
    renderReplay();
    if (R.t >= R.to) { R.playing = false; $("replay-play").textContent = "▶"; clearInterval(playTimer); }
  }, 200);
});
$("replay-live").addEventListener("click", () => {
  S.replay = null; clearInterval(playTimer);
  $("replay-slider").disabled = true; $("replay-play").disabled = true; $("replay-play").textContent = "▶";
  $("mode").textContent = ""; $("replay-info").textContent = ""; $("replay-events").innerHTML = "";
  scheduleHeader(); S.dirty = true;
});

boot();
