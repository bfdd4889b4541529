// Host studio: my sessions, scheduling, and the selected session's line-up,
// moderators, stream key and start/end controls. Hosts and admins only.
//
// Slot modules (broadcast, sales, room moderation) share the selected session:
//   import { onSessionSelected, selectedSession, refreshSession } from "/js/pages/studio.js";

import { api, formatTime, isHost } from "../api.js";
import {
  badge, busy, confirmAction, el, emptyState, icon, param, renderNav, replaceChildren, showError,
  skeletons, toast,
} from "../ui.js";
import { checkedIds, parseUsernames, productCheck } from "./studio-forms.js";
import { myProducts, openProductForm, productThumb, renderProducts } from "./studio-products.js";
import { openScheduleForm } from "./studio-schedule.js";
import { showStreamKey, wireStreamKey } from "./studio-stream-key.js";

let me = null;
let sessions = [];
let selected = null;
let moderators = [];
const listeners = new Set();

/** The session selected in the studio, or null. */
export function selectedSession() {
  return selected;
}

/**
 * Call `callback(session)` for the selected session now (if any) and on every change
 * (also after a refresh). Returns a function that unsubscribes.
 */
export function onSessionSelected(callback) {
  listeners.add(callback);
  if (selected) callback(selected);
  return () => listeners.delete(callback);
}

function announce() {
  for (const callback of listeners) {
    try {
      callback(selected);
    } catch (err) {
      console.error("studio listener failed", err);
    }
  }
  document.dispatchEvent(new CustomEvent("liveshop:studio-session", { detail: { session: selected } }));
}

function badgeState(state) {
  return state === "scheduled" ? "upcoming" : state;
}

// The WHIP peer connection of this page (js/studio/broadcast.js announces it as
// "liveshop:publisher" {sessionId, state: connecting/connected/reconnecting/closed}).
let publisher = null;

/** True while this page sends the selected show's camera (its End is the broadcast's). */
export function publishingHere(session = selected) {
  return Boolean(session && publisher && publisher.sessionId === session.id && publisher.state !== "closed");
}

/**
 * The state to show for `session`: the server's, except that a show this page publishes
 * reads "reconnecting" while its own connection is down (the server notices a moment later).
 */
export function shownState(session = selected) {
  if (!session) return null;
  if (session.state === "live" && publishingHere(session) && publisher.state === "reconnecting") return "reconnecting";
  return session.state;
}

document.addEventListener("liveshop:publisher", (event) => {
  publisher = event.detail ?? null;
  if (selected) {
    renderHeader();
    renderSessionList();
  }
});

// ---------- gate ----------

function gate(user) {
  const box = document.getElementById("studio-gate");
  if (!user) {
    replaceChildren(
      box,
      el("div", { class: "card notice", id: "studio-login" }, icon("lock"),
        el("h1", {}, "Log in to open the studio"),
        el("p", { class: "muted" }, "The studio is where hosts schedule shows, manage products and go live."),
        el("div", { class: "row" }, el("a", { class: "btn btn-primary", href: "/login.html?next=%2Fstudio.html" }, "Log in"))),
    );
    return false;
  }
  if (!isHost(user)) {
    replaceChildren(
      box,
      el("div", { class: "card notice", id: "hosts-only" }, icon("studio"),
        el("h1", {}, "The studio is for hosts only"),
        el("p", { class: "muted" }, `You're signed in as @${user.username}, a ${user.role} account. Hosts use the studio to schedule live shows and sell their products. Ask an admin if you'd like to host.`),
        el("div", { class: "row" },
          el("a", { class: "btn btn-primary", href: "/" }, "Browse live shows"),
          el("a", { class: "btn btn-ghost", href: "/feed.html" }, "Open the feed"))),
    );
    return false;
  }
  box.hidden = true;
  document.getElementById("studio").hidden = false;
  return true;
}

// ---------- sessions list ----------

/** True when the signed-in user hosts `session` (and not just moderates it). */
function isMine(session) {
  return Boolean(me && session && session.host && session.host.id === me.id);
}

function sessionRow(session) {
  let when = session.state === "live" ? "On air now" : formatTime(session.starts_at);
  if (!isMine(session)) when = `${when} · you moderate`;
  return el(
    "li",
    {},
    el(
      "button",
      {
        type: "button",
        class: "list-item",
        "aria-selected": String(Boolean(selected && selected.id === session.id)),
        dataset: { sessionId: String(session.id) },
        onclick: () => select(session.id),
      },
      productThumb({ title: session.title, images: session.cover_url ? [session.cover_url] : [] }),
      el("div", { class: "grow" }, el("div", { class: "title" }, session.title), el("div", { class: "muted small" }, when)),
      badge(badgeState(shownState(session))),
    ),
  );
}

function renderSessionList() {
  const list = document.getElementById("my-sessions");
  list.setAttribute("aria-busy", "false");
  if (sessions.length === 0) {
    const action = el("button", { type: "button", class: "btn btn-primary btn-small", onclick: openSchedule }, "Schedule your first show");
    replaceChildren(list, el("li", {}, emptyState("No sessions yet", "Schedule a live show and it will appear here.", { iconName: "calendar", action })));
    return;
  }
  replaceChildren(list, sessions.map(sessionRow));
}

async function loadSessions() {
  const list = document.getElementById("my-sessions");
  if (!sessions.length) replaceChildren(list, skeletons(3, "skeleton skeleton-row"));
  try {
    const data = await api("/api/sessions/mine");
    sessions = (data && data.items) || [];
    renderSessionList();
  } catch (err) {
    replaceChildren(list, el("li", {}, emptyState("Could not load your sessions", err.message, { iconName: "refresh" })));
  }
}

// ---------- selected session ----------

/**
 * Show session `id`. On a phone the page moves to its console at once, as it appears (the
 * line-up loads afterwards): a scroll that started later moved the End button away from
 * under a finger already on its way. `opened`: the page was opened on this show (no
 * animation, nobody is looking at the list).
 */
async function select(id, { opened = false } = {}) {
  try {
    selected = await api(`/api/sessions/${id}`);
  } catch (err) {
    toast(err.message, "error");
    return;
  }
  const url = new URL(location.href);
  url.searchParams.set("session", String(id));
  history.replaceState(null, "", url);
  moderators = (selected.moderators ?? []).map((m) => m.username);
  renderSessionList();
  const detail = renderDetail(); // shows the console before its first await
  if (window.matchMedia("(max-width: 959px)").matches) {
    const behavior = opened || matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
    document.getElementById("detail").scrollIntoView({ behavior, block: "start" });
  }
  await detail;
  announce();
}

/**
 * Re-fetch the selected session (after the room or the media said its state changed) and
 * re-render; the list is re-read too, so every row says what the server says.
 */
export async function refreshSession() {
  if (!selected) return null;
  const id = selected.id;
  const fresh = await api(`/api/sessions/${id}`);
  if (!selected || selected.id !== id) return null;
  selected = fresh;
  sessions = sessions.map((s) => (s.id === fresh.id ? fresh : s));
  renderSessionList();
  renderHeader();
  announce();
  return fresh;
}

function renderHeader() {
  const s = selected;
  replaceChildren(document.getElementById("detail-badge"), badge(badgeState(shownState(s))));
  document.getElementById("detail-title").textContent = s.title;
  let when = `Scheduled for ${formatTime(s.starts_at)}`;
  if (s.state === "live" || s.state === "reconnecting") when = `Live since ${formatTime(s.went_live_at)}`;
  if (s.state === "ended") when = `Ended ${formatTime(s.ended_at)}`;
  document.getElementById("detail-time").textContent = when;
  document.getElementById("detail-watch").href = `/session.html?id=${encodeURIComponent(s.id)}`;
  const mine = isMine(s);
  document.getElementById("session-start").hidden = !mine || s.state !== "scheduled";
  // one End at a time: while this page sends the camera, the broadcast's End (WHIP DELETE)
  document.getElementById("session-end").hidden =
    !mine || s.state === "ended" || s.state === "scheduled" || publishingHere(s);
  // Moderators see the show here, but only its host manages the key, line-up and team.
  for (const id of ["stream-key-card", "moderators-card", "lineup-card"]) {
    document.getElementById(id).hidden = !mine;
  }
}

async function renderDetail() {
  document.getElementById("detail-empty").hidden = true;
  document.getElementById("detail").hidden = false;
  renderHeader();
  renderModerators();
  if (!isMine(selected)) return;
  showStreamKey(selected.id);
  await renderLineupPicker();
}

async function changeState(action) {
  const button = document.getElementById(action === "start" ? "session-start" : "session-end");
  if (action === "end") {
    const ok = await confirmAction({
      title: "End this show?",
      text: "Viewers will see that the show has ended. This cannot be undone.",
      confirmLabel: "End show",
      danger: true,
    });
    if (!ok) return;
  }
  try {
    await busy(button, () => api(`/api/sessions/${selected.id}/${action}`, { method: "POST" }));
    await refreshSession();
    toast(action === "start" ? "You're live!" : "Show ended", "success");
  } catch (err) {
    toast(err.message, "error");
  }
}

// ---------- line-up ----------

async function renderLineupPicker() {
  const box = document.getElementById("lineup-picker");
  showError(document.getElementById("lineup-error"), null);
  replaceChildren(box, skeletons(2, "skeleton skeleton-row"));
  let products;
  try {
    products = await myProducts();
  } catch (err) {
    replaceChildren(box, emptyState("Could not load your products", err.message, { iconName: "refresh" }));
    return;
  }
  if (products.length === 0) {
    const action = el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: openProductForm }, "Create a product");
    replaceChildren(box, emptyState("No products yet", "Create products to build the line-up.", { iconName: "bag", action }));
    return;
  }
  const chosen = (selected.products ?? []).map((p) => p.id);
  const ordered = [
    ...chosen.map((id) => products.find((p) => p.id === id)).filter(Boolean),
    ...products.filter((p) => !chosen.includes(p.id)),
  ];
  replaceChildren(box, ordered.map((p) => productCheck(p, chosen.includes(p.id), "lineup")));
}

async function saveLineup() {
  const errorBox = document.getElementById("lineup-error");
  showError(errorBox, null);
  const productIds = checkedIds(document.getElementById("lineup-picker"), "lineup");
  try {
    await busy(document.getElementById("lineup-save"), () =>
      api(`/api/sessions/${selected.id}/products`, { method: "PUT", body: { product_ids: productIds } }),
    );
    await refreshSession();
    await renderLineupPicker();
    toast("Line-up saved", "success");
  } catch (err) {
    showError(errorBox, err.message);
  }
}

// ---------- moderators ----------

function renderModerators() {
  const chips = document.getElementById("moderator-chips");
  showError(document.getElementById("moderators-error"), null);
  if (moderators.length === 0) {
    replaceChildren(chips, el("span", { class: "muted small" }, "No moderators yet."));
    return;
  }
  replaceChildren(
    chips,
    moderators.map((name) =>
      el(
        "span",
        { class: "chip chip-static", dataset: { username: name } },
        `@${name}`,
        el("button", {
          type: "button",
          class: "chip-x",
          "aria-label": `Remove ${name}`,
          onclick: () => {
            moderators = moderators.filter((m) => m !== name);
            renderModerators();
          },
        }, "×"),
      ),
    ),
  );
}

async function saveModerators() {
  const errorBox = document.getElementById("moderators-error");
  showError(errorBox, null);
  const pending = parseUsernames(document.getElementById("moderator-input").value);
  const usernames = [...new Set([...moderators, ...pending])];
  try {
    await busy(document.getElementById("moderators-save"), () =>
      api(`/api/sessions/${selected.id}/moderators`, { method: "PUT", body: { usernames } }),
    );
    document.getElementById("moderator-input").value = "";
    await refreshSession();
    moderators = (selected.moderators ?? []).map((m) => m.username);
    renderModerators();
    toast("Moderators saved", "success");
  } catch (err) {
    showError(errorBox, err.message);
  }
}

function openSchedule() {
  openScheduleForm(async (created) => {
    await loadSessions();
    await select(created.id);
  });
}

// ---------- tabs and start-up ----------

function showTab(name) {
  for (const tab of ["sessions", "products"]) {
    document.getElementById(`tab-${tab}`).hidden = tab !== name;
    document.getElementById(`tab-${tab}-button`).setAttribute("aria-selected", String(tab === name));
  }
  if (name === "products") renderProducts();
}

function wire() {
  document.getElementById("tab-sessions-button").addEventListener("click", () => showTab("sessions"));
  document.getElementById("tab-products-button").addEventListener("click", () => showTab("products"));
  document.getElementById("schedule-open").addEventListener("click", openSchedule);
  document.getElementById("product-new").addEventListener("click", openProductForm);
  document.getElementById("session-start").addEventListener("click", () => changeState("start"));
  document.getElementById("session-end").addEventListener("click", () => changeState("end"));
  document.getElementById("lineup-save").addEventListener("click", saveLineup);
  document.getElementById("moderators-save").addEventListener("click", saveModerators);
  document.getElementById("moderator-add").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("moderator-input");
    moderators = [...new Set([...moderators, ...parseUsernames(input.value)])];
    input.value = "";
    renderModerators();
  });
  wireStreamKey();
  document.addEventListener("liveshop:products-changed", () => {
    if (selected) renderLineupPicker();
  });
}

async function main() {
  const user = await renderNav({ active: "studio" });
  if (!gate(user)) return;
  me = user;
  document.getElementById("studio-title").textContent = `${user.display_name || user.username}'s shows`;
  wire();
  await loadSessions();
  const wanted = Number(param("session"));
  if (wanted && sessions.some((s) => s.id === wanted)) await select(wanted, { opened: true });
}

main();
