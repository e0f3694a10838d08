"use strict";

// The zone editor (admins): a camera's picture now, its zones drawn over it; click to add a point
// to the chosen zone, drag a point to move it, save into the config file (validated as the config
// is, then reloaded by the service). Loaded before app.js, whose helpers (el, api, t) it calls.

const ZONE_STRINGS = {
  en: {
    "tab.zones": "Zones",
    "zones.title": "Zone editor",
    "zones.camera": "Camera",
    "zones.zone": "Zone",
    "zones.refresh": "New picture",
    "zones.undo": "Remove last point",
    "zones.clear": "Clear zone",
    "zones.save": "Save",
    "zones.hint": "Click on the picture to add a point to the chosen zone; drag a point to move it. "
      + "Zones are normalised to the picture (0..1), so they hold for the main stream too.",
    "zones.required": (names) => `This room needs: ${names}`,
    "zones.points": (n) => `${n} point(s)`,
    "zones.loading": "Taking a picture from the camera…",
    "zones.noPicture": (why) => `No picture from the camera: ${why}`,
    "zones.saving": "Saving…",
    "zones.saved": (backup) => `Saved. The previous file is kept as ${backup}; the service reloaded it.`,
    "zones.savedNotReloaded": (why) => `Saved, but the reload failed: ${why}`,
    "zones.invalid": "Not saved: the config would not be valid.",
  },
  zh: {
    "tab.zones": "区域",
    "zones.title": "区域编辑",
    "zones.camera": "摄像机",
    "zones.zone": "区域",
    "zones.refresh": "重新取图",
    "zones.undo": "删除最后一点",
    "zones.clear": "清除区域",
    "zones.save": "保存",
    "zones.hint": "在画面上点击，为所选区域添加一个点；拖动点可移动它。区域按画面归一化（0..1），主码流同样适用。",
    "zones.required": (names) => `本房间需要：${names}`,
    "zones.points": (n) => `${n} 个点`,
    "zones.loading": "正在从摄像机取图…",
    "zones.noPicture": (why) => `未能从摄像机取得画面：${why}`,
    "zones.saving": "正在保存…",
    "zones.saved": (backup) => `已保存。原文件保留为 ${backup}；服务已重新加载配置。`,
    "zones.savedNotReloaded": (why) => `已保存，但重新加载失败：${why}`,
    "zones.invalid": "未保存：配置将不合法。",
  },
};

const ZONE_COLOURS = {
  detainee_seat: "#ff8c00", detainee_area: "#ff8c00", officer_area: "#00a0ff", guard_post: "#00a0ff",
};
const GRAB_PX = 10; // how near (in screen pixels) a press must be to take hold of a point

const zoneEditor = { camera: null, info: null, zones: {}, dragging: null };

async function loadZones() {
  try {
    const cameras = await api("/api/cameras");
    const select = el("zones-camera");
    const chosen = select.value;
    select.replaceChildren(...cameras.map((c) => option(c.id, c.name ? `${c.id} · ${c.name}` : c.id)));
    if (chosen && cameras.some((c) => c.id === chosen)) select.value = chosen;
    await openZoneCamera(select.value);
  } catch (err) {
    el("zones-status").textContent = `${t("error.load")}: ${err.message}`;
  }
}

async function openZoneCamera(camera) {
  if (!camera) return;
  zoneEditor.camera = camera;
  const info = await api(`/api/zones/${encodeURIComponent(camera)}`);
  zoneEditor.info = info;
  zoneEditor.zones = structuredClone(info.zones);
  const zone = el("zones-zone");
  const chosen = zone.value;
  zone.replaceChildren(...info.allowed.map((z) => option(z, z)));
  if (info.allowed.includes(chosen)) zone.value = chosen;
  el("zones-editor").dataset.camera = camera;
  showZoneProblems([]);
  loadZonePicture().catch((err) => { el("zones-status").textContent = err.message; });
  renderZones();
}

async function loadZonePicture() {
  const img = el("zones-frame");
  el("zones-status").textContent = t("zones.loading");
  img.dataset.loaded = "false";
  const response = await fetch(`/api/zones/${encodeURIComponent(zoneEditor.camera)}/frame`,
    { credentials: "same-origin" });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    el("zones-status").textContent = t("zones.noPicture", body.detail || `HTTP ${response.status}`);
    return;
  }
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(await response.blob());
}

function renderZones() {
  const info = zoneEditor.info;
  if (!info) return;
  el("zones-required").textContent = info.required.length ? t("zones.required", info.required.join(", ")) : "";
  const canvas = el("zones-canvas");
  const img = el("zones-frame");
  const w = img.clientWidth || 640;
  const h = img.clientHeight || 360;
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, w, h);
  const selected = el("zones-zone").value;
  for (const [name, points] of Object.entries(zoneEditor.zones)) {
    if (!points.length) continue;
    const colour = ZONE_COLOURS[name] || "#cccccc";
    g.strokeStyle = colour;
    g.fillStyle = `${colour}33`;
    g.lineWidth = name === selected ? 3 : 2;
    g.beginPath();
    points.forEach(([x, y], i) => (i ? g.lineTo(x * w, y * h) : g.moveTo(x * w, y * h)));
    g.closePath();
    g.fill();
    g.stroke();
    g.fillStyle = colour;
    g.font = "14px sans-serif";
    g.fillText(name, points[0][0] * w + 6, points[0][1] * h + 16);
    if (name === selected) {
      for (const [x, y] of points) g.fillRect(x * w - 4, y * h - 4, 8, 8);
    }
  }
  const count = (zoneEditor.zones[selected] || []).length;
  el("zones-count").textContent = t("zones.points", count);
  el("zones-editor").dataset.points = JSON.stringify(zoneEditor.zones);
}

function canvasPoint(event) {
  const box = el("zones-canvas").getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
}

function nearestPoint(event) {
  const box = el("zones-canvas").getBoundingClientRect();
  const points = zoneEditor.zones[el("zones-zone").value] || [];
  let best = null;
  points.forEach(([x, y], i) => {
    const d = Math.hypot(box.left + x * box.width - event.clientX, box.top + y * box.height - event.clientY);
    if (d <= GRAB_PX && (best === null || d < best.d)) best = { i, d };
  });
  return best === null ? null : best.i;
}

function pressZone(event) {
  const zone = el("zones-zone").value;
  if (!zone || !zoneEditor.info) return;
  const held = nearestPoint(event);
  if (held !== null) {
    zoneEditor.dragging = held;
    return;
  }
  (zoneEditor.zones[zone] ||= []).push(canvasPoint(event).map(round4));
  renderZones();
}

function dragZone(event) {
  if (zoneEditor.dragging === null) return;
  zoneEditor.zones[el("zones-zone").value][zoneEditor.dragging] = canvasPoint(event).map(round4);
  renderZones();
}

function releaseZone() {
  zoneEditor.dragging = null;
}

function round4(v) {
  return Math.round(v * 10000) / 10000;
}

function editZone(change) {
  const zone = el("zones-zone").value;
  const points = zoneEditor.zones[zone] || [];
  zoneEditor.zones[zone] = change(points);
  renderZones();
}

function showZoneProblems(problems) {
  el("zones-problems").replaceChildren(...problems.map((p) => {
    const li = document.createElement("li");
    li.textContent = typeof p === "string" ? p : `${p.path}: ${p.message}`;
    return li;
  }));
}

async function saveZones() {
  const zones = Object.fromEntries(Object.entries(zoneEditor.zones).filter(([, points]) => points.length));
  el("zones-status").textContent = t("zones.saving");
  showZoneProblems([]);
  try {
    const saved = await api(`/api/zones/${encodeURIComponent(zoneEditor.camera)}`, {
      method: "PUT", body: { zones },
    });
    el("zones-status").textContent = saved.reload.ok ? t("zones.saved", saved.backup)
      : t("zones.savedNotReloaded", saved.reload.problems.join("; "));
    // What the file holds now, as the service reads it back.
    await openZoneCamera(zoneEditor.camera);
  } catch (err) {
    const problems = Array.isArray(err.detail) ? err.detail : [err.message];
    el("zones-status").textContent = err.status === 422 ? t("zones.invalid") : `${t("error.action")}: ${err.message}`;
    showZoneProblems(problems);
  }
}

// app.js (loaded after this file) defines el, api and t: the controls are wired once it has run.
document.addEventListener("DOMContentLoaded", () => {
  el("zones-camera").addEventListener("change", (e) => {
    openZoneCamera(e.target.value).catch((err) => { el("zones-status").textContent = err.message; });
  });
  el("zones-zone").addEventListener("change", renderZones);
  el("zones-refresh").addEventListener("click", () => loadZonePicture().catch((err) => {
    el("zones-status").textContent = err.message;
  }));
  el("zones-undo").addEventListener("click", () => editZone((points) => points.slice(0, -1)));
  el("zones-clear").addEventListener("click", () => editZone(() => []));
  el("zones-save").addEventListener("click", saveZones);
  el("zones-canvas").addEventListener("mousedown", pressZone);
  el("zones-canvas").addEventListener("mousemove", dragZone);
  window.addEventListener("mouseup", releaseZone);
  el("zones-frame").addEventListener("load", () => {
    el("zones-frame").dataset.loaded = "true";
    el("zones-status").textContent = "";
    renderZones();
  });
  window.addEventListener("resize", renderZones);
});
