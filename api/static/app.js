"use strict";

// Every user-visible word lives here, so a second language is one more entry.
const STRINGS = {
  en: {
    "title": "Watch desk",
    "login.title": "custodywatch",
    "login.username": "User name",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.failed": "Wrong user name or password",
    "login.throttled": (s) => `Too many failed logins; try again in ${s} s`,
    "login.expired": "Your session has ended; log in again",
    "logout": "Log out",
    "who": (name, role) => `${name} · ${t(`role.${role}`)}`,
    "language": "中文",
    "role.watch_desk": "watch desk",
    "role.investigator": "investigator",
    "role.admin": "admin",
    "tab.alerts": "Alerts",
    "tab.custody": "Custody",
    "tab.cameras": "Cameras",
    "tab.boxes": "Boxes",
    "boxes.box": "Site / box",
    "boxes.reported": "Last report",
    "boxes.cameras": "Cameras connected",
    "boxes.custody": "In custody",
    "boxes.never": "never",
    "boxes.ago": (s) => (s < 90 ? `${Math.round(s)} s ago` : `${Math.round(s / 60)} min ago`),
    "central.readOnly": "Every box's custody board, read-only here: check-in and release are done at the box.",
    "central.heldFor": "Held for",
    "central.reported": "Health reported",
    "central.stale": (ago) => `Stale: last report ${ago}`,
    "central.staleHint": "A box that has not reported its cameras' health for 2 minutes is marked stale: "
      + "its cameras may have failed since, out of the centre's sight.",
    "tab.recordings": "Recordings",
    "rec.from": "From",
    "rec.until": "Until",
    "rec.show": "Show",
    "rec.export": "Export evidence",
    "rec.hint": "Click the bar to play from that moment; red is a gap in the recording.",
    "report.title": "Report",
    "report.shift": "Shift summary",
    "report.download": "Download",
    "rec.summary": (spans, gaps) => `${spans} recorded span(s), ${gaps} gap(s)`,
    "rec.nothing": "Nothing recorded in this range.",
    "rec.gap": (cause) => `Not recorded: ${cause}`,
    "rec.exportReason": "Reason for the export (case number):",
    "rec.exporting": "Exporting…",
    "rec.exportReady": "Evidence package ready: downloading.",
    "rec.exportFailed": (why) => `Export failed: ${why}`,
    "rec.reanalyse": "Re-analyse",
    "rec.reanalysing": "Re-analysing the stored footage…",
    "rec.reanalysed": (found) => `Re-analysis found: ${found}`,
    "rec.reanalysedNone": "Re-analysis found no alert in this range.",
    "rec.reanalysisFailed": (why) => `Re-analysis failed: ${why}`,
    "rec.hold": "Legal hold",
    "rec.holdReason": "Reason for keeping this footage beyond retention (case number):",
    "rec.held": (by) => `Kept under a legal hold by ${by} until it is released.`,
    "showResolved": "Show resolved",
    "siteFilter": "Site",
    "siteAll": "All sites",
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
    "history.fired": "Fired",
    "history.escalated": "Escalated",
    "history.ended": "Condition ended",
    "history.acknowledged": "Acknowledged",
    "history.resolved": "Resolved",
    "action.acknowledge": "Acknowledge",
    "action.resolve": "Resolve",
    "action.open": "Open",
    "detail.close": "Close",
    "detail.snapshot": "Snapshot",
    "detail.clip": "Clip",
    "detail.noSnapshot": "No snapshot yet.",
    "detail.noClip": "No clip yet: it is cut seconds after the alert fires.",
    "detail.history": "History",
    "detail.room": "Who was in the room",
    "detail.roomEmpty": "No counts stored for this time.",
    "detail.counts": (d, o, g) => `${d} detainee(s) · ${o} officer(s) · ${g} guard(s)`,
    "detail.summary": (room, camera, time) => `${room} · ${camera} · fired ${time}`,
    "resolve.title": "Resolve alert",
    "resolve.comment": "Comment",
    "resolve.commentRequired": "Required while the condition is active",
    "resolve.commentOptional": "Optional",
    "resolve.falsePositive": "False positive",
    "resolve.cancel": "Cancel",
    "resolve.submit": "Resolve",
    "falsePositive": "false positive",
    "empty": "No alerts.",
    "custody.checkIn": "Check in",
    "custody.person": "Person or case",
    "custody.basis": "Legal basis",
    "custody.extended": "Extended (complex case)",
    "custody.submit": "Check in",
    "custody.since": "Since",
    "custody.left": "Time left",
    "custody.release": "Release",
    "custody.released": (time) => `Released ${time}`,
    "custody.over": (d) => `Over by ${d}`,
    "custody.empty": "Nobody is held.",
    "custody.confirmRelease": (person) => `Release ${person}?`,
    "custody.hold": "Hold footage",
    "custody.holdReason": (person) => `Keep all footage of ${person}'s custody beyond retention. Reason (case number):`,
    "custody.held": (person, by) => `The footage of ${person}'s custody is under a legal hold by ${by}.`,
    "action.hold": "Legal hold",
    "alert.holdReason": "Keep this alert's footage (all cameras of the room) beyond retention. Reason (case number):",
    "alert.held": (by) => `This alert's footage is under a legal hold by ${by}.`,
    "basis.questioning": "Questioning",
    "basis.summons": "Summons",
    "basis.compelled_appearance": "Compelled appearance",
    "camera.status": "Status",
    "camera.fps": "Frames/s",
    "camera.lastFrame": "Last frame",
    "camera.connected": "Connected",
    "camera.disconnected": "No video",
    "camera.unknown": "Not reported",
    "camera.hint": "Click a camera to see its room live.",
    "camera.maintenance": (until) => `Maintenance until ${until}`,
    "box.title": "Box health",
    "service.down": (names) => `Stopped after repeated failures, needs a technician: ${names}. `
      + "The rest of the box keeps running; restart the service once the cause is fixed.",
    "service.restarting": (names) => `Restarting: ${names}`,
    "service.box": (checks) => `Box health past its limit: ${checks} (Cameras tab)`,
    "service.config": (problems) => `The config file was not applied (the box runs on the previous one): ${problems}`,
    "service.store": (waiting) => `The database cannot be written: ${waiting} alert event(s) wait on the box `
      + "and reach this page once it answers again. Needs a technician.",
    "box.ok": "OK",
    "box.over": "Past limit",
    "box.unknown": "Unknown",
    "camera.live": (camera, room) => `Live: ${camera} · ${room}`,
    "escalation.again": (rule, room, min) => `Still unacknowledged after ${min} min: ${rule} in ${room}`,
    "escalation.toYou": (rule, room, min) => `Escalated to you: ${rule} in ${room}, unacknowledged for ${min} min`,
    "error.load": "Could not load",
    "error.action": "Could not save",
    "detail.live": "The room now",
    "detail.noLive": "No live picture from this camera.",
    "escalation.waiting": (n) => (n === 1 ? "1 alert escalated to you is still unacknowledged:"
      : `${n} alerts escalated to you are still unacknowledged:`),
    "escalation.item": (rule, room, min) => `${rule} in ${room} (${min} min)`,
    "box.key": (box, fp) => `Recordings and evidence packages of ${box} are signed with key ${fp}`,
    "box.noKey": "This box has no signing key yet: the recorder makes it when it first runs.",
    "tab.admin": "Admin",
    "admin.users": "Users",
    "admin.role": "Role",
    "admin.status": "Status",
    "admin.changed": "Changed",
    "admin.add": "Add user",
    "admin.generatedHint": "empty: generate one",
    "admin.active": "Active",
    "admin.disabled": "Disabled",
    "admin.disable": "Disable",
    "admin.enable": "Enable",
    "admin.resetPassword": "Reset password",
    "admin.newPassword": (name) => `New password for ${name} (leave empty to generate one):`,
    "admin.added": (name) => `Added ${name}.`,
    "admin.passwordFor": (name, pw) => `Password for ${name}, shown only now: ${pw}`,
    "admin.passwordSet": (name) => `Password of ${name} changed; their sessions have ended.`,
    "admin.audit": "Audit log",
    "admin.actor": "Who",
    "admin.action": "Action",
    "admin.target": "On",
    "admin.detail": "Detail",
    "admin.chainIntact": (n) => `Hash chain intact (${n} entries).`,
    "admin.chainBroken": (id) => `Hash chain BROKEN from entry ${id}: the log was altered.`,
    "admin.box": "This box",
    "admin.config": "Configuration (read-only; passwords hidden)",
    "admin.noConfig": "This box runs without a config file.",
  },
  zh: {
    "title": "值班台",
    "login.title": "custodywatch",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.failed": "用户名或密码错误",
    "login.throttled": (s) => `登录失败次数过多，请 ${s} 秒后再试`,
    "login.expired": "会话已结束，请重新登录",
    "logout": "退出",
    "who": (name, role) => `${name} · ${t(`role.${role}`)}`,
    "language": "English",
    "role.watch_desk": "值班员",
    "role.investigator": "办案人员",
    "role.admin": "管理员",
    "tab.alerts": "告警",
    "tab.custody": "在押看管",
    "tab.cameras": "摄像机",
    "tab.boxes": "各站点",
    "boxes.box": "站点 / 设备",
    "boxes.reported": "最近上报",
    "boxes.cameras": "在线摄像机",
    "boxes.custody": "在押人数",
    "boxes.never": "从未",
    "boxes.ago": (s) => (s < 90 ? `${Math.round(s)} 秒前` : `${Math.round(s / 60)} 分钟前`),
    "central.readOnly": "各站点的在押看管情况（此处只读）：登记入所和离开在各站点办理。",
    "central.heldFor": "已看管时长",
    "central.reported": "状态上报时间",
    "central.stale": (ago) => `已失联：最近上报 ${ago}`,
    "central.staleHint": "超过 2 分钟未上报摄像机状态的站点标为失联：其摄像机此后可能已故障，中心无法得知。",
    "tab.recordings": "录像",
    "rec.from": "从",
    "rec.until": "到",
    "rec.show": "显示",
    "rec.export": "导出证据",
    "rec.hint": "点击时间条从该时刻播放；红色为录像缺失。",
    "report.title": "报表",
    "report.shift": "交班摘要",
    "report.download": "下载",
    "rec.summary": (spans, gaps) => `${spans} 段录像，${gaps} 处缺失`,
    "rec.nothing": "该时段没有录像。",
    "rec.gap": (cause) => `未录像：${cause}`,
    "rec.exportReason": "导出原因（案件编号）：",
    "rec.exporting": "导出中…",
    "rec.exportReady": "证据包已生成，开始下载。",
    "rec.exportFailed": (why) => `导出失败：${why}`,
    "rec.reanalyse": "重新分析",
    "rec.reanalysing": "正在重新分析录像…",
    "rec.reanalysed": (found) => `重新分析发现：${found}`,
    "rec.reanalysedNone": "此时段重新分析未发现告警。",
    "rec.reanalysisFailed": (why) => `重新分析失败：${why}`,
    "rec.hold": "证据保全",
    "rec.holdReason": "保全原因（案件编号）：",
    "rec.held": (by) => `已由 ${by} 保全，解除前不会被清理。`,
    "showResolved": "显示已处置",
    "siteFilter": "站点",
    "siteAll": "全部站点",
    "openCount": (n) => `${n} 条未处置告警`,
    "connection.connecting": "连接中…",
    "connection.live": "实时",
    "connection.reconnecting": "重新连接中…",
    "connection.offline": "离线",
    "sound.on": "声音开",
    "sound.off": "声音关",
    "col.time": "时间",
    "col.room": "房间",
    "col.camera": "摄像机",
    "col.rule": "规则",
    "col.severity": "级别",
    "col.state": "状态",
    "col.condition": "情况",
    "rule.single_officer": "单人审讯",
    "rule.unattended_detainee": "被讯问人无人看管",
    "rule.guard_absent": "看守离岗",
    "rule.guard_asleep": "看守睡岗",
    "rule.overstay": "超时羁押",
    "rule.unregistered_detention": "未登记滞留",
    "rule.video_loss": "视频丢失",
    "severity.warning": "预警",
    "severity.alarm": "报警",
    "state.new": "新告警",
    "state.acknowledged": "已确认",
    "state.resolved": "已处置",
    "condition.active": "持续中",
    "condition.ended": (time) => `已于 ${time} 结束`,
    "history.fired": "触发",
    "history.escalated": "升级",
    "history.ended": "情况结束",
    "history.acknowledged": "确认",
    "history.resolved": "处置",
    "action.acknowledge": "确认",
    "action.resolve": "处置",
    "action.open": "打开",
    "detail.close": "关闭",
    "detail.snapshot": "抓图",
    "detail.clip": "录像片段",
    "detail.noSnapshot": "暂无抓图。",
    "detail.noClip": "暂无片段：告警触发后数秒内生成。",
    "detail.history": "记录",
    "detail.room": "房间人员",
    "detail.roomEmpty": "该时段没有人数记录。",
    "detail.counts": (d, o, g) => `被讯问人 ${d} · 民警 ${o} · 看守 ${g}`,
    "detail.summary": (room, camera, time) => `${room} · ${camera} · 触发于 ${time}`,
    "resolve.title": "处置告警",
    "resolve.comment": "说明",
    "resolve.commentRequired": "情况仍在持续时必须填写",
    "resolve.commentOptional": "选填",
    "resolve.falsePositive": "误报",
    "resolve.cancel": "取消",
    "resolve.submit": "处置",
    "falsePositive": "误报",
    "empty": "没有告警。",
    "custody.checkIn": "登记入所",
    "custody.person": "人员或案件",
    "custody.basis": "法律依据",
    "custody.extended": "延长（案情特别重大、复杂）",
    "custody.submit": "登记",
    "custody.since": "开始时间",
    "custody.left": "剩余时间",
    "custody.release": "离开",
    "custody.released": (time) => `已于 ${time} 离开`,
    "custody.over": (d) => `已超时 ${d}`,
    "custody.empty": "当前无人在押。",
    "custody.confirmRelease": (person) => `确认 ${person} 离开？`,
    "custody.hold": "保全录像",
    "custody.holdReason": (person) => `保全 ${person} 本次看管期间的全部录像（不被清理）。原因（案件编号）：`,
    "custody.held": (person, by) => `${person} 本次看管期间的录像已由 ${by} 保全。`,
    "action.hold": "证据保全",
    "alert.holdReason": "保全该告警的录像（房间内全部摄像机，不被清理）。原因（案件编号）：",
    "alert.held": (by) => `该告警的录像已由 ${by} 保全。`,
    "basis.questioning": "盘问",
    "basis.summons": "传唤",
    "basis.compelled_appearance": "拘传",
    "camera.status": "状态",
    "camera.fps": "帧/秒",
    "camera.lastFrame": "最后一帧",
    "camera.connected": "已连接",
    "camera.disconnected": "无视频",
    "camera.unknown": "未上报",
    "camera.hint": "点击摄像机查看房间实时画面。",
    "camera.maintenance": (until) => `维护中，至 ${until}`,
    "box.title": "主机状态",
    "service.down": (names) => `多次故障后已停止，需要技术人员处理：${names}。主机其余部分仍在运行；排除原因后请重启服务。`,
    "service.restarting": (names) => `正在重启：${names}`,
    "service.box": (checks) => `主机状态超出限值：${checks}（见摄像机页）`,
    "service.config": (problems) => `配置文件未生效（主机仍按原配置运行）：${problems}`,
    "service.store": (waiting) => `数据库无法写入：${waiting} 条报警事件暂存在主机上，数据库恢复后将显示在本页。需要技术人员处理。`,
    "box.ok": "正常",
    "box.over": "超出限值",
    "box.unknown": "未知",
    "camera.live": (camera, room) => `实时：${camera} · ${room}`,
    "escalation.again": (rule, room, min) => `${room} ${rule} 已 ${min} 分钟未确认`,
    "escalation.toYou": (rule, room, min) => `升级给您：${room} ${rule} 已 ${min} 分钟未确认`,
    "error.load": "加载失败",
    "error.action": "保存失败",
    "detail.live": "实时画面",
    "detail.noLive": "该摄像机暂无实时画面。",
    "escalation.waiting": (n) => `有 ${n} 条升级给您的告警仍未确认：`,
    "escalation.item": (rule, room, min) => `${room} ${rule}（${min} 分钟）`,
    "box.key": (box, fp) => `${box} 的录像和证据包使用密钥 ${fp} 签名`,
    "box.noKey": "本机尚无签名密钥：录像服务首次运行时生成。",
    "tab.admin": "系统管理",
    "admin.users": "用户",
    "admin.role": "角色",
    "admin.status": "状态",
    "admin.changed": "修改时间",
    "admin.add": "添加用户",
    "admin.generatedHint": "留空则自动生成",
    "admin.active": "启用",
    "admin.disabled": "已停用",
    "admin.disable": "停用",
    "admin.enable": "启用",
    "admin.resetPassword": "重置密码",
    "admin.newPassword": (name) => `${name} 的新密码（留空则自动生成）：`,
    "admin.added": (name) => `已添加 ${name}。`,
    "admin.passwordFor": (name, pw) => `${name} 的密码（仅显示这一次）：${pw}`,
    "admin.passwordSet": (name) => `${name} 的密码已修改，其会话已结束。`,
    "admin.audit": "审计日志",
    "admin.actor": "操作人",
    "admin.action": "操作",
    "admin.target": "对象",
    "admin.detail": "详情",
    "admin.chainIntact": (n) => `哈希链完整（${n} 条）。`,
    "admin.chainBroken": (id) => `哈希链自第 ${id} 条起断裂：日志已被篡改。`,
    "admin.box": "本机",
    "admin.config": "配置（只读，密码已隐藏）",
    "admin.noConfig": "本机未加载配置文件。",
  },
};
const LANGUAGES = ["en", "zh"];
let lang = LANGUAGES.includes(localStorage.getItem("custodywatch.lang")) ? localStorage.getItem("custodywatch.lang")
  : navigator.language.startsWith("zh") ? "zh" : "en";

// The zone editor's words live beside it (zones.js, loaded first).
for (const language of Object.keys(STRINGS)) Object.assign(STRINGS[language], ZONE_STRINGS[language]);

function t(key, ...args) {
  const value = STRINGS[lang][key] ?? STRINGS.en[key];
  if (value === undefined) return key;
  return typeof value === "function" ? value(...args) : value;
}

const MAX_ALERTS = 500;
const CENTRAL_REFRESH_MS = 10000;
const alerts = new Map(); // id -> AlertView
const el = (id) => document.getElementById(id);
let me = null; // {username, role, csrf_token} while logged in
let source = null; // the live feed
let resolving = null; // the alert the resolve dialog is open for
let detailId = null; // the alert the detail panel shows
let custody = [];
let timers = [];
let centralMode = false; // served by `custodywatch central`: many boxes' alerts, media fetched from boxes
let centralCustody = []; // at a centre: every box's custody records (/api/central/custody)
let centralHealth = []; // at a centre: every box's camera health (/api/central/health)

// ---- talking to the box ------------------------------------------------------------------------

// A refused request body's errors come as a list (FastAPI's validation): name each field and why.
function describe(detail) {
  if (!Array.isArray(detail)) return detail;
  return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
}

class HttpError extends Error {
  constructor(status, detail, retryAfter) {
    super(describe(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

// The session is the HttpOnly cookie; writes also carry the session's CSRF token, which only this
// page can know. A 401 means the session ended (expired, logged out elsewhere, user disabled).
async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf_token;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin",
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && me && path !== "/api/auth/login") showLogin(t("login.expired"));
    throw new HttpError(response.status, data.detail, response.headers.get("Retry-After"));
  }
  return data;
}

// ---- logging in and out ------------------------------------------------------------------------

function showLogin(message) {
  me = null;
  stopLive();
  if (detailId) closeDetail(); // the next user starts from the list
  myEscalations.clear();
  el("app-view").hidden = true;
  el("login-view").hidden = false;
  el("login-error").textContent = message || "";
  el("login-password").value = "";
  el("login-username").focus();
}

async function submitLogin(event) {
  event.preventDefault();
  el("login-error").textContent = "";
  try {
    const session = await api("/api/auth/login", {
      method: "POST", body: { username: el("login-username").value.trim(), password: el("login-password").value },
    });
    enter(session);
  } catch (err) {
    el("login-error").textContent = err.status === 429 ? t("login.throttled", err.retryAfter || "?")
      : err.status === 401 ? t("login.failed") : err.message;
  }
}

async function logout() {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } finally {
    showLogin();
  }
}

function enter(session) {
  me = session;
  el("login-view").hidden = true;
  el("app-view").hidden = false;
  el("who").textContent = t("who", me.username, me.role);
  // Recordings are for investigators; the server refuses them to others anyway (403).
  document.querySelectorAll(".investigator-only").forEach((node) => {
    node.hidden = me.role === "watch_desk";
  });
  document.querySelectorAll(".admin-only").forEach((node) => {
    node.hidden = me.role !== "admin";
  });
  showTab("alerts");
  alerts.clear();
  render();
  connect(); // opens with a `reset` event, which loads the list
  loadCustodyOptions();
  loadCustody();
  loadCameras();
  loadBoxHealth();
  loadEscalations(); // escalated to this user while they were not logged in
  timers = [setInterval(renderCustody, 1000), setInterval(loadCameras, 10000), setInterval(loadCustody, 30000),
    setInterval(loadBoxHealth, 30000)];
  detectCentre();
}

// A centre pushes the alerts boxes forward on its live feed, as a box does its own; its Custody and
// Cameras tabs show the boxes' boards (read-only) instead of its own, which are empty.
async function detectCentre() {
  try {
    await api("/api/central/boxes");
    centralMode = true;
    el("site-filter-label").hidden = false;
    document.querySelectorAll(".central-only").forEach((node) => { node.hidden = false; });
    document.querySelectorAll(".box-only").forEach((node) => { node.hidden = true; });
    loadCentralBoxes();
    timers.push(setInterval(loadCentralBoxes, CENTRAL_REFRESH_MS), setInterval(renderCentralCustody, 1000));
  } catch {
    centralMode = false;
  }
}

// Every box at a glance: when it last reported, its cameras, how many people it holds.
async function loadCentralBoxes() {
  try {
    const [boxes, health, custody] = await Promise.all(
      ["/api/central/boxes", "/api/central/health", "/api/central/custody"].map((path) => api(path)));
    centralHealth = health;
    centralCustody = custody;
    renderCentralBoards();
    const key = (o) => `${o.site_id}/${o.box_id}`;
    el("central-box-rows").replaceChildren(...boxes.map((b) => {
      const cameras = health.filter((h) => key(h) === key(b));
      const held = custody.filter((c) => key(c) === key(b) && c.release === null).length;
      const tr = document.createElement("tr");
      tr.dataset.box = key(b);
      const reported = b.seconds_since_report === null ? t("boxes.never") : t("boxes.ago", b.seconds_since_report);
      tr.append(cell(key(b)), cell(reported, "time"),
        cell(`${cameras.filter((h) => h.connected).length} / ${cameras.length}`), cell(String(held)));
      tr.classList.toggle("open-alarm", cameras.some((h) => !h.connected));
      return tr;
    }));
  } catch (err) {
    if (err.status !== 401) notify(`${t("error.load")}: ${err.message}`);
  }
}

function renderCentralBoards() {
  renderCentralCustody();
  renderCentralCameras();
}

const inSite = (o) => !el("site-filter").value || o.site_id === el("site-filter").value;

function renderCentralCustody() {
  if (!centralMode) return;
  const now = Date.now() / 1000;
  const records = centralCustody.filter(inSite);
  el("central-custody-rows").replaceChildren(...records.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.box = `${r.site_id}/${r.box_id}`;
    tr.dataset.person = r.person;
    tr.classList.toggle("resolved", r.release !== null);
    const basis = t(`basis.${r.legal_basis}`) + (r.extended ? ` · ${t("custody.extended")}` : "");
    const held = r.release === null ? cell(duration(now - r.check_in), "time left")
      : cell(t("custody.released", localTime(r.release)), "time");
    tr.append(cell(tr.dataset.box), cell(r.person), cell(r.room), cell(basis), cell(localTime(r.check_in), "time"),
      held);
    return tr;
  }));
  el("central-custody-empty").hidden = records.some((r) => r.release === null);
}

// A box cut off from the centre stops reporting: its last health may hide cameras failed since.
function renderCentralCameras() {
  if (!centralMode) return;
  el("central-camera-rows").replaceChildren(...centralHealth.filter(inSite).map((h) => {
    const tr = document.createElement("tr");
    tr.dataset.box = `${h.site_id}/${h.box_id}`;
    tr.dataset.camera = h.camera;
    tr.classList.toggle("open-alarm", !h.connected);
    tr.classList.toggle("stale", h.stale);
    const status = cell("", "status");
    status.append(h.connected ? badge(t("camera.connected"), "state-resolved")
      : badge(t("camera.disconnected"), "sev-alarm"));
    if (h.stale) status.append(" ", badge(t("central.stale", t("boxes.ago", h.seconds_since_report)), "sev-warning"));
    tr.append(cell(tr.dataset.box), cell(h.camera), status,
      cell(`${h.fps_analysed.toFixed(1)} / ${h.fps_in.toFixed(1)}`), cell(localTime(h.reported_at), "time"));
    return tr;
  }));
}

function stopLive() {
  closeLive();
  stopDetailLive();
  if (source) source.close();
  source = null;
  timers.forEach(clearInterval);
  timers = [];
}

// ---- alerts ------------------------------------------------------------------------------------

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
    const site = el("site-filter").value;
    const page = await api(`/api/alerts?limit=${MAX_ALERTS}${site ? `&site=${encodeURIComponent(site)}` : ""}`);
    page.items.forEach(upsert);
    trim();
    showSites(page.items);
    render();
  } catch (err) {
    notify(`${t("error.load")}: ${err.message}`);
  }
}

async function alertAction(path, body) {
  const alert = await api(path, { method: "POST", body: body ?? {} });
  upsert(alert);
  render();
}

// The newest feed id handled. The box pushes each event once, but a page that resumes after the
// box restarted may be sent again what it had: ids only grow, so an id not above this is a repeat.
let lastEventId = 0;

function fresh(event) {
  const id = Number(event.lastEventId);
  if (id && id <= lastEventId) return false;
  lastEventId = Math.max(lastEventId, id || 0);
  return true;
}

function connect() {
  setConnection("connecting");
  source = new EventSource("/api/events");
  const mine = source;
  source.onopen = () => setConnection("live");
  source.onerror = () => {
    if (source !== mine) return;
    // The browser retries by itself (resuming with Last-Event-ID) unless the stream is closed.
    if (mine.readyState === EventSource.CLOSED) {
      setConnection("offline");
      // Closed for good is also what a 401 looks like: check the session before reconnecting.
      setTimeout(() => api("/api/auth/me").then(() => { if (source === mine) connect(); }).catch(() => {}), 5000);
    } else {
      setConnection("reconnecting");
    }
  };
  source.addEventListener("reset", loadAlerts);
  source.addEventListener("health", loadCameras); // a camera connected or dropped
  source.addEventListener("health", loadBoxHealth); // or a box health check was raised or cleared
  source.addEventListener("escalation", (event) => {
    if (!fresh(event)) return;
    // Still unacknowledged after the box's re-notify interval: sound again, and say so.
    const escalation = JSON.parse(event.data);
    upsert(escalation.alert);
    if (escalation.notify.includes(me.username)) myEscalations.set(escalation.alert.id, escalation);
    render(escalation.alert.id);
    beep();
    desktopNotice(escalation.alert);
    const minutes = Math.round(escalation.unacknowledged_s / 60);
    notify(t(escalation.notify.includes(me.username) ? "escalation.toYou" : "escalation.again",
      t(`rule.${escalation.alert.rule}`), escalation.alert.room, minutes));
  });
  source.addEventListener("recorder_alarm", (event) => {
    // The recorder cannot keep the archive within its quota without deleting protected footage.
    if (!fresh(event)) return;
    beep();
    notify(JSON.parse(event.data).message);
  });
  source.addEventListener("alert", (event) => {
    if (!fresh(event)) return;
    const update = JSON.parse(event.data);
    upsert(update.alert);
    trim();
    showSites([update.alert]); // a centre: a site whose first alert arrives live
    render(update.alert.id);
    const raised = update.change === "fired" || update.change === "escalated";
    if (raised && update.alert.severity === "alarm") {
      beep();
      desktopNotice(update.alert);
    }
  });
}

function setConnection(state) {
  el("connection").dataset.state = state;
  el("connection-label").textContent = t(`connection.${state}`);
}

// ---- sound and notifications -------------------------------------------------------------------

// Browsers only let a page play sound after a click, hence the button; the same click asks for
// permission to show notifications when the page is in the background.
let audio = null;

function toggleSound() {
  if (audio) {
    audio.close();
    audio = null;
  } else {
    audio = new AudioContext();
    beep();
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
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

function desktopNotice(alert) {
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  const notice = new Notification(`${t(`severity.${alert.severity}`)}: ${t(`rule.${alert.rule}`)}`, {
    body: `${alert.room} · ${alert.camera}`, tag: alert.id,
  });
  notice.onclick = () => { window.focus(); openDetail(alert.id); };
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
  b.addEventListener("click", (event) => { event.stopPropagation(); onClick(); });
  return b;
}

function alertButtons(alert) {
  const out = [];
  if (alert.state === "new") out.push(button(t("action.acknowledge"), () => acknowledge(alert.id), "ack"));
  if (alert.state !== "resolved") out.push(button(t("action.resolve"), () => openResolve(alert.id), "ghost resolve"));
  if (mayHold()) out.push(button(t("action.hold"), () => holdAlert(alert.id), "ghost hold"));
  return out;
}

function row(alert) {
  const tr = document.createElement("tr");
  tr.dataset.id = alert.id;
  tr.classList.toggle("open-alarm", alert.active && alert.severity === "alarm" && alert.state !== "resolved");
  tr.classList.toggle("resolved", alert.state === "resolved");
  tr.classList.toggle("selected", alert.id === detailId);
  tr.addEventListener("click", () => openDetail(alert.id));

  const time = cell(localTime(alert.fired_at_epoch), "time");
  time.title = alert.fired_at;
  const rule = cell(t(`rule.${alert.rule}`));
  if (alert.detail) rule.append(note(alert.detail));
  tr.append(time, cell(alert.room), cell(alert.camera), rule);

  const severity = cell("");
  severity.append(badge(t(`severity.${alert.severity}`), `sev-${alert.severity}`));
  const state = cell("", "state");
  state.append(badge(t(`state.${alert.state}`), `state-${alert.state}`));
  const by = alert.resolved_by || alert.acknowledged_by;
  if (by) state.append(note(by));
  if (alert.false_positive) state.append(note(t("falsePositive")));
  if (alert.comment) state.title = alert.comment;
  const condition = alert.active
    ? cell(t("condition.active"), "condition active")
    : cell(t("condition.ended", new Date(alert.ended_at_epoch * 1000).toLocaleTimeString()), "condition");

  const actions = cell("", "actions");
  actions.append(...alertButtons(alert));
  tr.append(severity, state, condition, actions);
  return tr;
}

// A centre holds the alerts of many sites: offer a filter once more than one is seen.
function showSites(items) {
  const select = el("site-filter");
  const known = new Set([...select.options].map((o) => o.value));
  items.map((a) => a.site_id).filter((s) => !known.has(s)).forEach((s) => {
    known.add(s);
    select.append(option(s, s));
  });
  el("site-filter-label").hidden = !centralMode && known.size <= 2;
}

function render(flashId) {
  const showResolved = el("show-resolved").checked;
  const site = el("site-filter").value;
  const visible = [...alerts.values()]
    .filter((a) => !site || a.site_id === site)
    .filter((a) => showResolved || a.state !== "resolved" || a.id === detailId)
    .sort(newestFirst);
  const rows = visible.map(row);
  el("alert-rows").replaceChildren(...rows);
  el("empty").hidden = visible.length > 0;
  const open = [...alerts.values()].filter((a) => a.state !== "resolved").length;
  el("open-count").textContent = t("openCount", open);
  const flashed = rows.find((tr) => tr.dataset.id === flashId);
  if (flashed) flashed.classList.add("flash");
  if (detailId && alerts.has(detailId)) renderDetail(alerts.get(detailId), false);
  renderEscalations();
}

function notify(message) {
  el("notice").textContent = message;
  setTimeout(() => {
    if (el("notice").textContent === message) el("notice").textContent = "";
  }, 8000);
}

// ---- alert detail: snapshot, clip, history -----------------------------------------------------

function openDetail(id) {
  detailId = id;
  const alert = alerts.get(id);
  if (!alert) return;
  el("alert-detail").hidden = false;
  renderDetail(alert, true);
  render();
}

function closeDetail() {
  detailId = null;
  el("alert-detail").hidden = true;
  el("detail-clip").removeAttribute("src");
  el("detail-clip").load();
  stopDetailLive();
  render();
}

function renderDetail(alert, reloadMedia) {
  el("detail-title").textContent = `${t(`severity.${alert.severity}`)}: ${t(`rule.${alert.rule}`)}`;
  el("detail-summary").textContent = t("detail.summary", alert.room, alert.camera, localTime(alert.fired_at_epoch));
  el("detail-actions").replaceChildren(...alertButtons(alert));
  el("detail-history").replaceChildren(...alert.history.map((h) => {
    const li = document.createElement("li");
    li.textContent = `${localTime(h.at_epoch)} · ${t(`history.${h.kind}`)} · ${t(`severity.${h.severity}`)}`
      + (h.actor ? ` · ${h.actor}` : "") + (h.comment ? ` · “${h.comment}”` : "");
    return li;
  }));
  if (!reloadMedia) return;
  loadRoomTimeline(alert);
  const id = encodeURIComponent(alert.id);
  const img = el("detail-snapshot");
  img.hidden = false;
  el("detail-snapshot-missing").hidden = true;
  img.onerror = () => { img.hidden = true; el("detail-snapshot-missing").hidden = false; };
  // At a centre the media stay on the box that recorded them: the centre fetches them from it.
  const media = centralMode ? `/api/central/alerts/${id}` : `/api/alerts/${id}`;
  img.src = `${media}/snapshot`;
  const video = el("detail-clip");
  video.hidden = false;
  el("detail-clip-missing").hidden = true;
  video.onerror = () => { video.hidden = true; el("detail-clip-missing").hidden = false; };
  video.src = `${media}/clip`;
  video.play().catch(() => {}); // muted, so the browser lets it start by itself
  showDetailLive(alert);
}

// The alert's room now, beside what was recorded: its camera's live view (MJPEG).
function showDetailLive(alert) {
  const img = el("detail-live");
  const src = `/api/cameras/${encodeURIComponent(alert.camera)}/live`;
  if (img.getAttribute("src") === src && !img.hidden) return;
  img.hidden = false;
  el("detail-live-missing").hidden = true;
  img.onerror = () => { img.hidden = true; el("detail-live-missing").hidden = false; };
  img.src = src;
}

function stopDetailLive() {
  el("detail-live").removeAttribute("src"); // ends the stream, and the box's connection to the camera
}

// ---- escalations waiting for this user ---------------------------------------------------------

const myEscalations = new Map(); // alert id -> the escalation that names this user

async function loadEscalations() {
  try {
    const pending = await api("/api/escalations?mine=true");
    pending.forEach((e) => { upsert(e.alert); myEscalations.set(e.alert.id, e); });
    render();
    if (pending.length) beep();
  } catch (err) {
    if (err.status !== 401) notify(`${t("error.load")}: ${err.message}`);
  }
}

// Listed until someone acknowledges the alert (or it is resolved).
function renderEscalations() {
  [...myEscalations.keys()].forEach((id) => {
    if (alerts.get(id)?.state !== "new") myEscalations.delete(id);
  });
  const items = [...myEscalations.values()];
  const box = el("my-escalations");
  box.hidden = items.length === 0;
  const now = Date.now() / 1000;
  box.replaceChildren(document.createTextNode(t("escalation.waiting", items.length)), ...items.map((e) => {
    const minutes = Math.round((now - e.alert.fired_at_epoch) / 60);
    const b = button(t("escalation.item", t(`rule.${e.alert.rule}`), e.alert.room, minutes),
      () => openDetail(e.alert.id), "ghost");
    b.dataset.id = e.alert.id;
    return b;
  }));
}

// From a minute before the condition began to a minute after it ended (or now): each change of
// who was in the room, as a bar whose parts are as long as each state lasted.
async function loadRoomTimeline(alert) {
  const start = alert.condition_started_at_epoch - 60;
  const end = (alert.ended_at_epoch ?? Date.now() / 1000) + 60;
  const box = el("detail-room");
  try {
    const params = new URLSearchParams({ since: start, until: end });
    const counts = await api(`/api/rooms/${encodeURIComponent(alert.room)}/counts?${params}`);
    if (detailId !== alert.id) return;
    if (!counts.length) {
      box.replaceChildren(note(t("detail.roomEmpty")));
      return;
    }
    const parts = counts.map((c, i) => {
      const from = Math.max(start, Date.parse(c.at) / 1000);
      const to = i + 1 < counts.length ? Date.parse(counts[i + 1].at) / 1000 : end;
      const div = document.createElement("div");
      div.className = `part ${c.detainees && c.officers + c.guards === 0 ? "alone" : ""}`;
      div.style.flexGrow = String(Math.max(1, to - from));
      div.textContent = `${c.detainees}/${c.officers + c.guards}`;
      div.title = `${localTime(from)} · ${t("detail.counts", c.detainees, c.officers, c.guards)}`;
      return div;
    });
    box.replaceChildren(...parts);
  } catch (err) {
    box.replaceChildren(note(err.message));
  }
}

// ---- alert actions -----------------------------------------------------------------------------

async function acknowledge(id) {
  try {
    await alertAction(`/api/alerts/${encodeURIComponent(id)}/acknowledge`);
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
    await alertAction(`/api/alerts/${encodeURIComponent(resolving)}/resolve`, {
      comment: el("resolve-comment").value,
      false_positive: el("resolve-false-positive").checked,
    });
    el("resolve-dialog").close();
  } catch (err) {
    el("resolve-error").textContent = err.message;
  }
}

// ---- custody board -----------------------------------------------------------------------------

function option(value, label) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  return o;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

async function loadCustodyOptions() {
  try {
    const options = await api("/api/custody/options");
    el("checkin-room").replaceChildren(...options.rooms.map((r) => option(r, r)));
    el("checkin-basis").replaceChildren(...Object.entries(options.legal_bases).map(
      ([basis, limit]) => option(basis, `${t(`basis.${basis}`)} (${duration(limit)})`)));
  } catch (err) {
    notify(`${t("error.load")}: ${err.message}`);
  }
}

async function loadCustody() {
  try {
    custody = await api("/api/custody");
    renderCustody();
  } catch (err) {
    notify(`${t("error.load")}: ${err.message}`);
  }
}

function renderCustody() {
  const now = Date.now() / 1000;
  const rows = custody.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.person = r.person;
    const left = r.deadline_epoch - now;
    tr.classList.toggle("resolved", !r.open);
    tr.classList.toggle("open-alarm", r.open && left < 1800);
    const basis = t(`basis.${r.legal_basis}`) + (r.extended ? ` · ${t("custody.extended")}` : "");
    const leftCell = r.open
      ? cell(left >= 0 ? duration(left) : t("custody.over", duration(-left)), "time left")
      : cell(t("custody.released", localTime(Date.parse(r.release) / 1000)), "time");
    const actions = cell("", "actions");
    if (r.open) actions.append(button(t("custody.release"), () => release(r.person), "ghost release"));
    if (mayHold()) actions.append(button(t("custody.hold"), () => holdCustody(r.person), "ghost hold"));
    tr.append(cell(r.person), cell(r.room), cell(basis), cell(localTime(r.check_in_epoch), "time"), leftCell, actions);
    return tr;
  });
  el("custody-rows").replaceChildren(...rows);
  el("custody-empty").hidden = custody.some((r) => r.open);
}

async function submitCheckIn(event) {
  event.preventDefault();
  el("checkin-error").textContent = "";
  try {
    await api("/api/custody", {
      method: "POST",
      body: {
        person: el("checkin-person").value.trim(), room: el("checkin-room").value,
        legal_basis: el("checkin-basis").value, extended: el("checkin-extended").checked,
      },
    });
    el("checkin-person").value = "";
    el("checkin-extended").checked = false;
    await loadCustody();
  } catch (err) {
    el("checkin-error").textContent = err.message;
  }
}

// Legal holds by custody record or by alert: the box works out the cameras and the range.
function mayHold() {
  return me !== null && me.role !== "watch_desk";
}

async function holdBy(body, done) {
  try {
    const hold = await api("/api/holds", { method: "POST", body });
    notify(done(hold.created_by));
  } catch (err) {
    notify(`${t("error.action")}: ${err.message}`);
  }
}

function holdCustody(person) {
  const reason = window.prompt(t("custody.holdReason", person));
  if (reason) holdBy({ custody_id: person, reason }, (by) => t("custody.held", person, by));
}

function holdAlert(id) {
  const reason = window.prompt(t("alert.holdReason"));
  if (reason) holdBy({ alert_id: id, reason }, (by) => t("alert.held", by));
}

async function release(person) {
  if (!window.confirm(t("custody.confirmRelease", person))) return;
  try {
    await api(`/api/custody/${encodeURIComponent(person)}/release`, { method: "POST", body: {} });
    await loadCustody();
  } catch (err) {
    notify(`${t("error.action")}: ${err.message}`);
  }
}

// ---- cameras -----------------------------------------------------------------------------------

async function loadCameras() {
  try {
    const cameras = await api("/api/cameras");
    el("camera-rows").replaceChildren(...cameras.map((c) => {
      const tr = document.createElement("tr");
      const h = c.health;
      const status = cell("");
      status.append(h === null ? badge(t("camera.unknown"), "state-acknowledged")
        : h.connected ? badge(t("camera.connected"), "state-resolved") : badge(t("camera.disconnected"), "sev-alarm"));
      tr.classList.toggle("open-alarm", h !== null && !h.connected);
      tr.dataset.camera = c.id;
      tr.addEventListener("click", () => openLive(c));
      tr.append(cell(c.name ? `${c.name} (${c.id})` : c.id), cell(c.room || ""), status,
        cell(h ? `${h.fps_analysed.toFixed(1)} / ${h.fps_in.toFixed(1)}` : ""),
        cell(h && h.last_frame_at_epoch ? localTime(h.last_frame_at_epoch) : "", "time"));
      return tr;
    }));
    await markMaintenance();
  } catch (err) {
    if (err.status !== 401) notify(`${t("error.load")}: ${err.message}`);
  }
}

// A camera being serviced is dark on purpose: say so beside its status, with until when and why.
async function markMaintenance() {
  const now = Date.now() / 1000;
  for (const w of await api("/api/maintenance")) {
    const row = document.querySelector(`#camera-rows tr[data-camera="${CSS.escape(w.camera)}"]`);
    const start = Date.parse(w.start) / 1000;
    if (!row || !w.open || start > now) continue;
    const note = badge(t("camera.maintenance", localTime(Date.parse(w.end) / 1000)), "state-acknowledged");
    note.title = `${w.reason} (${w.started_by})`;
    row.children[2].append(" ", note);
    row.classList.remove("open-alarm");
  }
}

// A period report or shift summary (GET /api/reports): the browser downloads it with the session cookie.
function downloadReport(event) {
  event.preventDefault();
  const params = new URLSearchParams({
    from: new Date(el("report-from").value).toISOString(), to: new Date(el("report-to").value).toISOString(),
    format: el("report-format").value, shift: el("report-shift").checked ? "true" : "false",
  });
  window.location.href = `/api/reports?${params}`;
}

// The box's own checks (disk, days of archive left, CPU, memory, clock): from the public /healthz.
async function loadBoxHealth() {
  try {
    const response = await fetch("/healthz");
    const report = await response.json();
    showServiceProblems(report);
    const box = report.box;
    el("box-health").hidden = !box;
    if (!box) return;
    el("box-health-rows").replaceChildren(...box.checks.map((c) => {
      const tr = document.createElement("tr");
      const status = c.raised ? badge(t("box.over"), `sev-${c.severity}`)
        : c.over === null ? badge(t("box.unknown"), "state-acknowledged") : badge(t("box.ok"), "state-resolved");
      const value = c.value === null ? "" : Number(c.value.toFixed(2)).toString();
      const td = cell("");
      td.append(status);
      tr.append(cell(c.check), cell(value), cell(`${c.limit}`), td);
      return tr;
    }));
  } catch (err) {
    notify(`${t("error.load")}: ${err.message}`);
  }
}

// What the watch desk must know even when no alert fires: a part of the service given up on, one
// being restarted, or a config change that was refused.
function showServiceProblems(report) {
  const lines = [];
  const down = report.down || [];
  const restarting = Object.entries(report.processes || {})
    .filter(([name, alive]) => !alive && !down.includes(name)).map(([name]) => name);
  if (down.length) lines.push([t("service.down", down.join(", ")), "sev-alarm"]);
  if (restarting.length) lines.push([t("service.restarting", restarting.join(", ")), "sev-warning"]);
  if (report.config && !report.config.ok) lines.push([t("service.config", report.config.problems.join("; ")), "sev-warning"]);
  const store = report.store;
  if (store && (!store.reachable || store.alert_events_waiting > 0)) {
    lines.push([t("service.store", store.alert_events_waiting),
      store.alert_events_waiting > 0 ? "sev-alarm" : "sev-warning"]);
  }
  const raised = ((report.box && report.box.checks) || []).filter((c) => c.raised);
  if (raised.length) {
    const text = raised.map((c) => `${c.check} ${c.value === null ? "" : Number(c.value.toFixed(2))} / ${c.limit}`);
    const worst = raised.some((c) => c.severity === "alarm") ? "sev-alarm" : "sev-warning";
    lines.push([t("service.box", text.join(", ")), worst]);
  }
  const box = el("service-problems");
  box.hidden = lines.length === 0;
  box.replaceChildren(...lines.map(([text, cls]) => {
    const p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    return p;
  }));
}

function openLive(camera) {
  el("live").hidden = false;
  el("live-title").textContent = t("camera.live", camera.id, camera.room || "");
  el("live-view").src = `/api/cameras/${encodeURIComponent(camera.id)}/live`;
}

function closeLive() {
  el("live-view").removeAttribute("src"); // ends the stream, and the box's connection to the camera
  el("live").hidden = true;
}

// ---- recordings (investigator): timeline of spans and gaps, playback, export -------------------

let shown = null; // {camera, start, end} of the timeline on screen
let playing = null; // wall-clock time of the playing cut's start

function localInput(epoch) {
  const d = new Date(epoch * 1000);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

async function loadRecordingCameras() {
  const cameras = await api("/api/cameras");
  el("rec-camera").replaceChildren(...cameras.map((c) => option(c.id, c.name ? `${c.name} (${c.id})` : c.id)));
  if (!el("rec-from").value) {
    const now = Date.now() / 1000;
    el("rec-from").value = localInput(now - 3600);
    el("rec-until").value = localInput(now);
  }
}

function place(node, start, end) {
  const span = shown.end - shown.start;
  node.style.left = `${Math.max(0, (start - shown.start) / span) * 100}%`;
  node.style.width = `${Math.max(0.2, (Math.min(end, shown.end) - Math.max(start, shown.start)) / span * 100)}%`;
}

async function showRecordings(event) {
  if (event) event.preventDefault();
  const camera = el("rec-camera").value;
  const start = new Date(el("rec-from").value).getTime() / 1000;
  const end = new Date(el("rec-until").value).getTime() / 1000;
  try {
    const params = new URLSearchParams({ since: start, until: end });
    const timeline = await api(`/api/recordings/${encodeURIComponent(camera)}/timeline?${params}`);
    shown = { camera, start, end };
    const bars = timeline.segments.map((s) => {
      const div = document.createElement("div");
      div.className = "seg";
      place(div, s.start_epoch, s.end_epoch);
      return div;
    }).concat(timeline.gaps.map((g) => {
      const div = document.createElement("div");
      div.className = "gap";
      div.title = t("rec.gap", g.cause);
      place(div, g.start_epoch, g.end_epoch);
      return div;
    }));
    el("rec-timeline").replaceChildren(...bars, el("rec-cursor"));
    el("rec-scale-start").textContent = localTime(start);
    el("rec-scale-end").textContent = localTime(end);
    el("rec-status").textContent = timeline.segments.length
      ? t("rec.summary", timeline.segments.length, timeline.gaps.length) : t("rec.nothing");
  } catch (err) {
    el("rec-status").textContent = err.message;
  }
}

function playAt(event) {
  if (!shown) return;
  const box = el("rec-timeline").getBoundingClientRect();
  const at = shown.start + (event.clientX - box.left) / box.width * (shown.end - shown.start);
  const params = new URLSearchParams({ since: at, until: Math.min(shown.end, at + 600) });
  playing = at;
  const video = el("rec-video");
  video.hidden = false;
  video.src = `/api/recordings/${encodeURIComponent(shown.camera)}/play?${params}`;
  video.play().catch(() => {});
}

function moveCursor() {
  const video = el("rec-video");
  if (!shown || playing === null) return;
  const at = playing + video.currentTime;
  el("rec-cursor").hidden = false;
  el("rec-cursor").style.left = `${(at - shown.start) / (shown.end - shown.start) * 100}%`;
}

async function exportShown() {
  if (!shown) return;
  const reason = window.prompt(t("rec.exportReason"));
  if (!reason) return;
  el("rec-status").textContent = t("rec.exporting");
  try {
    let job = await api("/api/exports", {
      method: "POST", body: { cameras: [shown.camera], start: shown.start, end: shown.end, reason },
    });
    while (job.state === "running") {
      await new Promise((resolve) => { setTimeout(resolve, 1000); });
      job = await api(`/api/exports/${job.id}`);
    }
    if (job.state !== "ready") throw new Error(job.error);
    el("rec-status").textContent = t("rec.exportReady");
    window.location.assign(job.download);
  } catch (err) {
    el("rec-status").textContent = t("rec.exportFailed", err.message);
  }
}

// Re-analysis of the range shown: the rules run again over the stored footage on the box.
async function reanalyseShown() {
  if (!shown) return;
  el("rec-status").textContent = t("rec.reanalysing");
  try {
    let job = await api("/api/reanalysis", {
      method: "POST", body: { camera: shown.camera, start: shown.start, end: shown.end },
    });
    while (job.state === "running") {
      await new Promise((resolve) => { setTimeout(resolve, 2000); });
      job = await api(`/api/reanalysis/${job.id}`);
    }
    if (job.state !== "done") throw new Error(job.error);
    const origin = Date.parse(job.origin) / 1000;
    const found = job.alerts.map((a) => `${a.rule} (${a.severity}) ${localTime(origin + a.start_s)}`);
    el("rec-status").textContent = found.length ? t("rec.reanalysed", found.join(", ")) : t("rec.reanalysedNone");
  } catch (err) {
    el("rec-status").textContent = t("rec.reanalysisFailed", err.message);
  }
}

async function holdShown() {
  if (!shown) return;
  const reason = window.prompt(t("rec.holdReason"));
  if (!reason) return;
  try {
    const hold = await api("/api/holds", {
      method: "POST", body: { cameras: [shown.camera], start: shown.start, end: shown.end, reason },
    });
    el("rec-status").textContent = t("rec.held", hold.created_by);
  } catch (err) {
    el("rec-status").textContent = err.message;
  }
}

// The key this box signs its index and evidence packages with, to compare with a package's.
async function loadBoxKey(target) {
  try {
    const box = await api("/api/box");
    el(target).textContent = box.key_fingerprint
      ? t("box.key", box.box_id || window.location.host, box.key_fingerprint) : t("box.noKey");
  } catch (err) {
    el(target).textContent = err.message;
  }
}

// ---- admin: users, audit log, configuration ----------------------------------------------------

const ROLES = ["watch_desk", "investigator", "admin"];

function loadAdmin() {
  const chosen = el("user-role").value || "watch_desk";
  el("user-role").replaceChildren(...ROLES.map((r) => option(r, t(`role.${r}`))));
  el("user-role").value = chosen;
  el("user-password").placeholder = t("admin.generatedHint");
  loadUsers();
  loadAudit();
  loadConfigView();
  loadBoxKey("admin-box");
}

async function loadUsers() {
  try {
    const users = await api("/api/users");
    el("user-rows").replaceChildren(...users.map((u) => {
      const tr = document.createElement("tr");
      tr.dataset.user = u.username;
      tr.classList.toggle("resolved", u.disabled);
      const status = cell("", "status");
      status.append(u.disabled ? badge(t("admin.disabled"), "state-acknowledged") : badge(t("admin.active"), "state-resolved"));
      const actions = cell("", "actions");
      actions.append(
        button(t(u.disabled ? "admin.enable" : "admin.disable"),
          () => changeUser(u.username, { disabled: !u.disabled }), "ghost toggle"),
        button(t("admin.resetPassword"), () => resetPassword(u.username), "ghost reset"));
      tr.append(cell(u.username), cell(t(`role.${u.role}`)), status,
        cell(localTime(Date.parse(u.updated_at) / 1000), "time"), actions);
      return tr;
    }));
  } catch (err) {
    el("user-status").textContent = `${t("error.load")}: ${err.message}`;
  }
}

async function submitUser(event) {
  event.preventDefault();
  const username = el("user-name").value.trim();
  el("user-status").textContent = "";
  try {
    const made = await api("/api/users", {
      method: "POST", body: { username, role: el("user-role").value, password: el("user-password").value || null },
    });
    el("user-name").value = "";
    el("user-password").value = "";
    el("user-status").textContent = made.password ? t("admin.passwordFor", username, made.password) : t("admin.added", username);
    loadUsers();
    loadAudit();
  } catch (err) {
    el("user-status").textContent = `${t("error.action")}: ${err.message}`;
  }
}

async function changeUser(username, change) {
  el("user-status").textContent = "";
  try {
    await api(`/api/users/${encodeURIComponent(username)}`, { method: "PATCH", body: change });
    loadUsers();
    loadAudit();
  } catch (err) {
    el("user-status").textContent = `${t("error.action")}: ${err.message}`;
  }
}

async function resetPassword(username) {
  const password = window.prompt(t("admin.newPassword", username));
  if (password === null) return;
  el("user-status").textContent = "";
  try {
    const made = await api(`/api/users/${encodeURIComponent(username)}/password`, {
      method: "POST", body: { password: password || null },
    });
    el("user-status").textContent = made.password ? t("admin.passwordFor", username, made.password)
      : t("admin.passwordSet", username);
    loadAudit();
  } catch (err) {
    el("user-status").textContent = `${t("error.action")}: ${err.message}`;
  }
}

async function loadAudit() {
  try {
    const page = await api("/api/audit?limit=200");
    const chain = el("audit-chain");
    chain.className = `chain ${page.intact ? "intact" : "broken"}`;
    chain.textContent = page.intact ? t("admin.chainIntact", page.total) : t("admin.chainBroken", page.first_broken_id);
    el("audit-rows").replaceChildren(...page.items.map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.action = e.action;
      const detail = Object.keys(e.detail).length ? JSON.stringify(e.detail) : "";
      tr.append(cell(localTime(Date.parse(e.at) / 1000), "time"), cell(e.actor), cell(e.action),
        cell(e.target ?? ""), cell(detail, "detail"));
      return tr;
    }));
  } catch (err) {
    el("audit-chain").textContent = `${t("error.load")}: ${err.message}`;
  }
}

async function loadConfigView() {
  try {
    el("config-view").textContent = JSON.stringify(await api("/api/config"), null, 2);
  } catch (err) {
    el("config-view").textContent = err.status === 404 ? t("admin.noConfig") : err.message;
  }
}

// ---- start -------------------------------------------------------------------------------------

const TABS = ["alerts", "custody", "cameras", "boxes", "recordings", "admin", "zones"];
let currentTab = "alerts";

function showTab(name) {
  currentTab = name;
  document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  TABS.forEach((tab) => { el(`tab-${tab}`).hidden = tab !== name; });
  if (name !== "cameras") closeLive();
  // A live view nobody sees still holds a connection to the camera.
  if (name !== "alerts") stopDetailLive();
  else if (detailId && alerts.has(detailId)) showDetailLive(alerts.get(detailId));
  if (name === "recordings") loadBoxKey("box-key");
  if (name === "admin") loadAdmin();
  if (name === "zones") loadZones();
  if (name === "recordings" && !el("rec-camera").options.length) {
    loadRecordingCameras().catch((err) => { el("rec-status").textContent = err.message; });
  }
}

function translatePage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((node) => {
    node.textContent = t(node.dataset.i18n);
  });
  document.title = `custodywatch · ${t("title")}`;
  el("language").textContent = t("language");
  el("connection-label").textContent = t(`connection.${el("connection").dataset.state}`);
  showSound();
  if (me) {
    el("who").textContent = t("who", me.username, me.role);
    render();
    renderCustody();
    loadCustodyOptions();
    loadCameras();
    renderCentralBoards();
    if (currentTab === "admin") loadAdmin();
    if (currentTab === "zones") renderZones();
    if (currentTab === "recordings") loadBoxKey("box-key");
  }
}

function switchLanguage() {
  lang = LANGUAGES[(LANGUAGES.indexOf(lang) + 1) % LANGUAGES.length];
  localStorage.setItem("custodywatch.lang", lang);
  translatePage();
}

async function start() {
  translatePage();
  el("language").addEventListener("click", switchLanguage);
  el("login-language").addEventListener("click", switchLanguage);

  el("login-form").addEventListener("submit", submitLogin);
  el("logout").addEventListener("click", logout);
  el("sound").addEventListener("click", toggleSound);
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  showTab("alerts");
  el("show-resolved").addEventListener("change", () => render());
  el("site-filter").addEventListener("change", () => {
    alerts.clear();
    loadAlerts();
    renderCentralBoards();
  });
  el("detail-close").addEventListener("click", closeDetail);
  el("resolve-form").addEventListener("submit", submitResolve);
  el("resolve-cancel").addEventListener("click", () => el("resolve-dialog").close());
  el("checkin-form").addEventListener("submit", submitCheckIn);
  el("recordings-form").addEventListener("submit", showRecordings);
  el("report-form").addEventListener("submit", downloadReport);
  el("rec-timeline").addEventListener("click", playAt);
  el("rec-video").addEventListener("timeupdate", moveCursor);
  el("rec-export").addEventListener("click", exportShown);
  el("rec-hold").addEventListener("click", holdShown);
  el("rec-reanalyse").addEventListener("click", reanalyseShown);
  el("live-close").addEventListener("click", closeLive);
  el("user-form").addEventListener("submit", submitUser);

  // A page reloaded within a session carries on; otherwise, the login form.
  try {
    enter(await api("/api/auth/me"));
  } catch {
    showLogin();
  }
}

start();
