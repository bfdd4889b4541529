// Host studio: my sessions, scheduling, and the selected session's line-up,
// moderators, stream key and start/end controls. Hosts and admins only.
//
// Slot modules (broadcast, sales, room moderation) share the selected session:
//   import { onSessionSelected, selectedSession, refreshSession } from "/js/pages/studio.js";

import { ApiError, api, formatTime, isHost } from "../api.js";
import {
  badge, busy, closeSheet, confirmAction, copyText, el, emptyState, icon, openSheet, param,
  renderNav, replaceChildren, showError, skeletons, toast,
} from "../ui.js";
import { myProducts, openProductForm, productThumb, renderProducts } from "./studio-products.js";

let me = null;
let sessions = [];
let selected = null;
let moderators = [];
let streamKey = null;
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
      badge(badgeState(session.state)),
    ),
  );
}

function renderSessionList() {
  const list = document.getElementById("my-sessions");
  list.setAttribute("aria-busy", "false");
  if (sessions.length === 0) {
    const action = el("button", { type: "button", class: "btn btn-primary btn-small", onclick: openScheduleForm }, "Schedule your first show");
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

async function select(id) {
  try {
    selected = await api(`/api/sessions/${id}`);
  } catch (err) {
    toast(err.message, "error");
    return;
  }
  const url = new URL(location.href);
  url.searchParams.set("session", String(id));
  history.replaceState(null, "", url);
  streamKey = null;
  moderators = (selected.moderators ?? []).map((m) => m.username);
  renderSessionList();
  await renderDetail();
  announce();
  if (window.matchMedia("(max-width: 959px)").matches) {
    document.getElementById("detail").scrollIntoView({ behavior: "smooth", block: "start" });
  }
}

/** Re-fetch the selected session (e.g. after it went live) and re-render. */
export async function refreshSession() {
  if (!selected) return null;
  const fresh = await api(`/api/sessions/${selected.id}`);
  selected = fresh;
  sessions = sessions.map((s) => (s.id === fresh.id ? fresh : s));
  renderSessionList();
  renderHeader();
  announce();
  return fresh;
}

function renderHeader() {
  const s = selected;
  replaceChildren(document.getElementById("detail-badge"), badge(badgeState(s.state)));
  document.getElementById("detail-title").textContent = s.title;
  let when = `Scheduled for ${formatTime(s.starts_at)}`;
  if (s.state === "live" || s.state === "reconnecting") when = `Live since ${formatTime(s.went_live_at)}`;
  if (s.state === "ended") when = `Ended ${formatTime(s.ended_at)}`;
  document.getElementById("detail-time").textContent = when;
  document.getElementById("detail-watch").href = `/session.html?id=${encodeURIComponent(s.id)}`;
  const mine = isMine(s);
  document.getElementById("session-start").hidden = !mine || s.state !== "scheduled";
  document.getElementById("session-end").hidden = !mine || s.state === "ended" || s.state === "scheduled";
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
  renderStreamKey();
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

function productCheck(product, checked, name) {
  const input = el("input", { type: "checkbox", name, value: String(product.id), checked });
  input.addEventListener("change", () => {
    input.dataset.order = String(Date.now());
  });
  return el(
    "label",
    { class: "check", dataset: { productId: String(product.id) } },
    input,
    productThumb(product),
    el("div", { class: "grow" }, el("div", { class: "product-title" }, product.title), el("div", { class: "small muted" }, product.category || "")),
  );
}

/** Ticked product ids in display order; newly ticked ones go last in the order they were ticked. */
function checkedIds(container, name) {
  const inputs = [...container.querySelectorAll(`input[name="${name}"]:checked`)];
  const kept = inputs.filter((i) => !i.dataset.order);
  const added = inputs.filter((i) => i.dataset.order).sort((a, b) => Number(a.dataset.order) - Number(b.dataset.order));
  return [...kept, ...added].map((i) => Number(i.value));
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

function parseUsernames(text) {
  return text.split(/[\s,]+/).map((u) => u.replace(/^@/, "").trim()).filter(Boolean);
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

// ---------- stream key ----------

function renderStreamKey() {
  const box = document.getElementById("stream-key-box");
  const revealed = Boolean(streamKey) && box.dataset.revealed === "true";
  box.classList.toggle("is-hidden", !revealed);
  document.getElementById("stream-key").textContent = revealed ? streamKey.stream_key : "••••••••••••••••••••";
  const reveal = document.getElementById("stream-key-reveal");
  replaceChildren(reveal, icon(revealed ? "eyeOff" : "eye"));
  reveal.setAttribute("aria-label", revealed ? "Hide stream key" : "Reveal stream key");
  replaceChildren(document.getElementById("stream-key-copy"), icon("copy"));
  replaceChildren(document.getElementById("whip-url-copy"), icon("copy"));
  document.getElementById("whip-url").textContent = streamKey
    ? new URL(streamKey.whip_url, location.origin).href
    : new URL(`/whip/${selected.id}`, location.origin).href;
}

async function fetchStreamKey() {
  if (!streamKey) streamKey = await api(`/api/sessions/${selected.id}/stream-key`);
  return streamKey;
}

async function toggleReveal() {
  const box = document.getElementById("stream-key-box");
  try {
    await fetchStreamKey();
    box.dataset.revealed = box.dataset.revealed === "true" ? "false" : "true";
    renderStreamKey();
  } catch (err) {
    toast(err.message, "error");
  }
}

async function rotateKey() {
  const ok = await confirmAction({
    title: "Rotate the stream key?",
    text: "The old key stops working right away. Encoders using it must be updated.",
    confirmLabel: "Rotate key",
    danger: true,
  });
  if (!ok) return;
  try {
    streamKey = await busy(document.getElementById("stream-key-rotate"), () =>
      api(`/api/sessions/${selected.id}/stream-key/rotate`, { method: "POST" }),
    );
    renderStreamKey();
    toast("New stream key created", "success");
  } catch (err) {
    toast(err.message, "error");
  }
}

// ---------- schedule form ----------

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function defaultStart() {
  const date = new Date(Date.now() + 60 * 60 * 1000);
  date.setMinutes(Math.ceil(date.getMinutes() / 15) * 15, 0, 0);
  return date;
}

function field(label, control, hint) {
  return el("label", { class: "field" }, el("span", {}, label), control, hint ? el("span", { class: "hint" }, hint) : null);
}

/** Open the "Schedule a session" form in a bottom sheet. */
export async function openScheduleForm() {
  const errorBox = el("div", { class: "form-error", role: "alert", hidden: true });
  const picker = el("div", { class: "check-list", id: "schedule-products" }, skeletons(2, "skeleton skeleton-row"));
  const form = el(
    "form",
    { id: "schedule-form", novalidate: true },
    errorBox,
    field("Title", el("input", { name: "title", id: "schedule-title", required: true, maxlength: "120", placeholder: "Autumn knitwear drop" })),
    field("Description", el("textarea", { name: "description", id: "schedule-description", maxlength: "2000", placeholder: "What will you show?" })),
    field("Starts at", el("input", { name: "starts_at", id: "schedule-starts", type: "datetime-local", required: true, value: localInputValue(defaultStart()) }), "Your local time."),
    el("div", { class: "field" }, el("span", { class: "label" }, "Products"), picker),
    field("Moderators", el("input", { name: "moderators", id: "schedule-moderators", placeholder: "usernames, separated by commas", autocapitalize: "none", spellcheck: "false" })),
    el("button", { type: "submit", class: "btn btn-primary btn-block", id: "schedule-submit" }, "Schedule session"),
  );
  myProducts()
    .then((products) => {
      if (products.length === 0) {
        replaceChildren(picker, el("p", { class: "muted small" }, "You have no products yet. You can add them to the line-up later."));
      } else {
        replaceChildren(picker, products.map((p) => productCheck(p, false, "schedule-product")));
      }
    })
    .catch((err) => replaceChildren(picker, el("p", { class: "muted small" }, `Could not load products: ${err.message}`)));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(errorBox, null);
    const title = form.title.value.trim();
    const start = new Date(form.starts_at.value);
    if (!title) return showError(errorBox, "Give your show a title.");
    if (Number.isNaN(start.getTime())) return showError(errorBox, "Pick a start date and time.");
    const body = {
      title,
      description: form.description.value.trim(),
      starts_at: start.toISOString(),
      product_ids: checkedIds(picker, "schedule-product"),
      moderators: parseUsernames(form.moderators.value),
    };
    try {
      const created = await busy(form.querySelector("#schedule-submit"), () => api("/api/sessions", { body }));
      closeSheet();
      toast(`“${created.title}” scheduled`, "success");
      await loadSessions();
      await select(created.id);
    } catch (err) {
      showError(errorBox, err instanceof ApiError ? err.message : "Could not schedule the session.");
    }
  });
  openSheet({ title: "Schedule a session", content: form, id: "schedule-sheet" });
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
  document.getElementById("schedule-open").addEventListener("click", openScheduleForm);
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
  document.getElementById("stream-key-reveal").addEventListener("click", toggleReveal);
  document.getElementById("stream-key-copy").addEventListener("click", async () => {
    try {
      copyText((await fetchStreamKey()).stream_key, "Stream key copied");
    } catch (err) {
      toast(err.message, "error");
    }
  });
  document.getElementById("whip-url-copy").addEventListener("click", () =>
    copyText(document.getElementById("whip-url").textContent, "WHIP URL copied"),
  );
  document.getElementById("stream-key-rotate").addEventListener("click", rotateKey);
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
  if (wanted && sessions.some((s) => s.id === wanted)) await select(wanted);
}

main();
