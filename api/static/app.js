"use strict";

// Every user-visible word lives here, so a second language is one more entry.
const STRINGS = {
  en: {
    "title": "Watch desk",
    "operator": "Operator",
    "showResolved": "Show resolved",
    "openCount": (n) => (n === 1 ? "1 open alert" : `${n} open alerts`),
    "connection.connecting": "Connecting…",
    "connection.live": "Live",
    "connection.reconnecting": "Reconnecting…",
    "connection.offline": "Offline",
    "sound.on": "Sound on",
    "sound.off": "Sound off",
    "col.time": "Time",
    "col.room": "Room",
    "col.camera": "Camera",
    "col.rule": "Rule",
    "col.severity": "Severity",
    "col.state": "State",
    "col.condition": "Condition",
    "rule.single_officer": "Single officer",
    "rule.unattended_detainee": "Unattended detainee",
    "rule.guard_absent": "Guard absent",
    "rule.guard_asleep": "Guard asleep",
    "rule.overstay": "Overstay",
    "rule.unregistered_detention": "Unregistered detention",
    "rule.video_loss": "Video loss",
    "severity.warning": "Warning",
    "severity.alarm": "Alarm",
    "state.new": "New",
    "state.acknowledged": "Acknowledged",
    "state.resolved": "Resolved",
    "condition.active": "Active",
    "condition.ended": (time) => `Ended ${time}`,
    "action.acknowledge": "Acknowledge",
    "action.resolve": "Resolve",
    "resolve.title": "Resolve alert",
    "resolve.comment": "Comment",
    "resolve.commentRequired": "Required while the condition is active",
    "resolve.commentOptional": "Optional",
    "resolve.falsePositive": "False positive",
    "resolve.cancel": "Cancel",
    "resolve.submit": "Resolve",
    "falsePositive": "false positive",
    "empty": "No alerts.",
    "error.load": "Could not load alerts",
    "error.action": "Could not save",
  },
};
const lang = "en";

function t(key, ...args) {
  const value = STRINGS[lang][key];
  if (value === undefined) return key;
  return typeof value === "function" ? value(...args) : value;
}

const MAX_ALERTS = 500;
const alerts = new Map(); // id -> AlertView
const el = (id) => document.getElementById(id);
let resolving = null; // the alert the resolve dialog is open for

// ---- data --------------------------------------------------------------------------------------

// Keeps whichever copy of an alert is newer: list loads and live events may arrive in any order.
function upsert(alert) {
  const known = alerts.get(alert.id);
  if (!known || alert.updated_at_epoch >= known.updated_at_epoch) alerts.set(alert.id, alert);
}

function newestFirst(a, b) {
  return b.fired_at_epoch - a.fired_at_epoch || (a.id < b.id ? 1 : -1);
}

function trim() {
  if (alerts.size <= MAX_ALERTS) return;
  const keep = [...alerts.values()].sort(newestFirst).slice(0, MAX_ALERTS);
  alerts.clear();
  keep.forEach((a) => alerts.set(a.id, a));
}

async function loadAlerts() {
  try {
    const response = await fetch(`/api/alerts?limit=${MAX_ALERTS}`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const page = await response.json();
    page.items.forEach(upsert);
    trim();
    render();
  } catch (err) {
    notify(`${t("error.load")}: ${err.message}`);
  }
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Operator": el("operator").value.trim() },
    body: JSON.stringify(body ?? {}),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
  upsert(data);
  render();
}

// ---- live feed ---------------------------------------------------------------------------------

function connect() {
  setConnection("connecting");
  const source = new EventSource("/api/events");
  source.onopen = () => setConnection("live");
  source.onerror = () => {
    // The browser retries by itself (resuming with Last-Event-ID) unless the stream is closed.
    if (source.readyState === EventSource.CLOSED) {
      setConnection("offline");
      setTimeout(connect, 5000);
    } else {
      setConnection("reconnecting");
    }
  };
  source.addEventListener("reset", loadAlerts);
  source.addEventListener("alert", (event) => {
    const update = JSON.parse(event.data);
    upsert(update.alert);
    trim();
    render(update.alert.id);
    const raised = update.change === "fired" || update.change === "escalated";
    if (raised && update.alert.severity === "alarm") beep();
  });
}

function setConnection(state) {
  el("connection").dataset.state = state;
  el("connection-label").textContent = t(`connection.${state}`);
}

// ---- sound -------------------------------------------------------------------------------------

// Browsers only let a page play sound after a click, hence the button.
let audio = null;

function toggleSound() {
  if (audio) {
    audio.close();
    audio = null;
  } else {
    audio = new AudioContext();
    beep();
  }
  localStorage.setItem("custodywatch.sound", audio ? "on" : "off");
  showSound();
}

function showSound() {
  el("sound").textContent = t(audio ? "sound.on" : "sound.off");
  el("sound").classList.toggle("on", Boolean(audio));
}

function beep() {
  if (!audio) return;
  const start = audio.currentTime;
  [0, 0.25].forEach((offset) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.25, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.18);
    tone.connect(gain).connect(audio.destination);
    tone.start(start + offset);
    tone.stop(start + offset + 0.2);
  });
}

// ---- rendering ---------------------------------------------------------------------------------

function localTime(epoch) {
  return new Date(epoch * 1000).toLocaleString();
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function badge(text, className) {
  const span = document.createElement("span");
  span.className = `badge ${className}`;
  span.textContent = text;
  return span;
}

function note(text) {
  const small = document.createElement("small");
  small.className = "note";
  small.textContent = text;
  return small;
}

function button(label, onClick, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (className) b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

function row(alert) {
  const tr = document.createElement("tr");
  tr.dataset.id = alert.id;
  tr.classList.toggle("open-alarm", alert.active && alert.severity === "alarm" && alert.state !== "resolved");
  tr.classList.toggle("resolved", alert.state === "resolved");

  const time = cell(localTime(alert.fired_at_epoch), "time");
  time.title = alert.fired_at;
  const rule = cell(t(`rule.${alert.rule}`));
  if (alert.detail) rule.append(note(alert.detail));
  tr.append(time, cell(alert.room), cell(alert.camera), rule);

  const severity = cell("");
  severity.append(badge(t(`severity.${alert.severity}`), `sev-${alert.severity}`));
  const state = cell("");
  state.append(badge(t(`state.${alert.state}`), `state-${alert.state}`));
  const by = alert.resolved_by || alert.acknowledged_by;
  if (by) state.append(note(by));
  if (alert.false_positive) state.append(note(t("falsePositive")));
  if (alert.comment) state.title = alert.comment;
  const condition = alert.active
    ? cell(t("condition.active"), "condition active")
    : cell(t("condition.ended", new Date(alert.ended_at_epoch * 1000).toLocaleTimeString()), "condition");

  const actions = cell("", "actions");
  if (alert.state === "new") {
    actions.append(button(t("action.acknowledge"), () => acknowledge(alert.id)));
  }
  if (alert.state !== "resolved") {
    actions.append(button(t("action.resolve"), () => openResolve(alert.id), "ghost"));
  }
  tr.append(severity, state, condition, actions);
  return tr;
}

function render(flashId) {
  const showResolved = el("show-resolved").checked;
  const visible = [...alerts.values()]
    .filter((a) => showResolved || a.state !== "resolved")
    .sort(newestFirst);
  const rows = visible.map(row);
  el("alert-rows").replaceChildren(...rows);
  el("empty").hidden = visible.length > 0;
  const open = [...alerts.values()].filter((a) => a.state !== "resolved").length;
  el("open-count").textContent = t("openCount", open);
  const flashed = rows.find((tr) => tr.dataset.id === flashId);
  if (flashed) flashed.classList.add("flash");
}

function notify(message) {
  el("notice").textContent = message;
  setTimeout(() => {
    if (el("notice").textContent === message) el("notice").textContent = "";
  }, 8000);
}

// ---- actions -----------------------------------------------------------------------------------

async function acknowledge(id) {
  try {
    await post(`/api/alerts/${encodeURIComponent(id)}/acknowledge`);
  } catch (err) {
    notify(`${t("error.action")}: ${err.message}`);
  }
}

function openResolve(id) {
  const alert = alerts.get(id);
  if (!alert) return;
  resolving = id;
  el("resolve-summary").textContent =
    `${t(`rule.${alert.rule}`)} · ${alert.room} · ${localTime(alert.fired_at_epoch)}`;
  el("resolve-comment").value = "";
  el("resolve-comment").placeholder = t(alert.active ? "resolve.commentRequired" : "resolve.commentOptional");
  el("resolve-false-positive").checked = false;
  el("resolve-error").textContent = "";
  el("resolve-dialog").showModal();
  el("resolve-comment").focus();
}

async function submitResolve(event) {
  event.preventDefault();
  try {
    await post(`/api/alerts/${encodeURIComponent(resolving)}/resolve`, {
      comment: el("resolve-comment").value,
      false_positive: el("resolve-false-positive").checked,
    });
    el("resolve-dialog").close();
  } catch (err) {
    el("resolve-error").textContent = err.message;
  }
}

// ---- start -------------------------------------------------------------------------------------

function start() {
  document.querySelectorAll("[data-i18n]").forEach((node) => {
    node.textContent = t(node.dataset.i18n);
  });
  document.title = `custodywatch · ${t("title")}`;

  const operator = el("operator");
  operator.value = localStorage.getItem("custodywatch.operator") || "";
  operator.addEventListener("change", () => localStorage.setItem("custodywatch.operator", operator.value.trim()));

  el("sound").addEventListener("click", toggleSound);
  showSound();
  el("show-resolved").addEventListener("change", () => render());
  el("resolve-form").addEventListener("submit", submitResolve);
  el("resolve-cancel").addEventListener("click", () => el("resolve-dialog").close());

  // The stream opens with a `reset` event, which loads the list; later events update it.
  connect();
}

start();
