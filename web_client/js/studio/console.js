// The host console: while the selected show is live (or this page sends its camera) the
// studio becomes one screen: the header with the state badge, live stats and End; the
// camera preview with chat and reactions over it; the line-up (pin / unpin, flash sale),
// sales, auctions & more and setup beside it; the chat with moderation. On a laptop it
// fits the window without scrolling (css/studio.css); on a phone the preview is full
// width and the panels are tabs (before the show too, with the set-up first).
//
// The state shown is always the server's: the session is re-read when the room announces
// a new state (studio/room.js), when the media poll disagrees (studio/broadcast.js) and
// every few seconds as a safety net; this page's own WHIP connection only adds "reconnecting"
// while it is down (pages/studio.js, shownState).

import { api, formatPrice } from "../api.js";
import { onSessionSelected, publishingHere, refreshSession, selectedSession, shownState } from "../pages/studio.js";
import { el, replaceChildren } from "../ui.js";

const CHECK_MS = 5000;
const PHONE = window.matchMedia("(max-width: 1023px)");

const stats = {
  sessionId: null,
  presence: null,
  kbps: null,
  sales: null,
  mediaTime: null, // {seconds, at: performance.now()} from the broadcast poll
};
let tab = null;

const $ = (id) => document.getElementById(id);

// ---------- layout ----------

function consoleOn(session) {
  if (!session) return false;
  return session.state === "live" || session.state === "reconnecting" || publishingHere(session);
}

let mode = null; // "console", "before" or "after": a new mode starts on its default tab

function defaultTab(on) {
  if (!PHONE.matches) return "lineup";
  return on ? "chat" : "setup";
}

function layout() {
  const session = selectedSession();
  const on = consoleOn(session);
  const next = on ? "console" : session?.state === "ended" ? "after" : "before";
  if (next !== mode) tab = null;
  mode = next;
  // a phone gets tabs before the show too (set-up first); a laptop only while live
  const tabbed = on || (PHONE.matches && next === "before");
  document.body.classList.toggle("is-console", on);
  document.body.classList.toggle("is-tabbed", tabbed);
  document.body.classList.toggle("is-after-show", next === "after");
  $("detail")?.setAttribute("data-state", shownState(session) ?? "");
  $("console-tabs").hidden = !tabbed;
  $("console-stats").hidden = !on;
  showTab(tab ?? defaultTab(on));
}

/**
 * On a phone the panels are tabs (one shown at a time, the chat among them); on a laptop
 * they are stacked in the side column and a tab scrolls to its panel.
 */
function showTab(name, { scroll = false } = {}) {
  const phone = PHONE.matches;
  tab = !phone && name === "chat" ? "lineup" : name;
  for (const button of document.querySelectorAll("#console-tabs .console-tab")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const pane of document.querySelectorAll("#detail .console-pane")) {
    pane.classList.toggle("is-inactive", phone && pane.dataset.pane !== tab);
  }
  if (scroll && !phone) document.querySelector(`#console-side [data-pane="${tab}"]`)?.scrollIntoView({ block: "start", behavior: "smooth" });
}

// ---------- live stats ----------

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function elapsed(session) {
  if (stats.mediaTime && stats.sessionId === session.id) {
    return stats.mediaTime.seconds + (performance.now() - stats.mediaTime.at) / 1000;
  }
  if (!session.went_live_at) return null;
  return (Date.now() - Date.parse(session.went_live_at)) / 1000;
}

function stat(id, label, value, note = "") {
  return el(
    "div",
    { class: "console-stat", id },
    el("dt", {}, label),
    el("dd", {}, el("span", { class: "value" }, value), note ? el("span", { class: "note" }, note) : null),
  );
}

function renderStats() {
  const session = selectedSession();
  const box = $("console-stats");
  if (!session || box.hidden) return;
  const presence = stats.sessionId === session.id ? stats.presence : null;
  const tiers = presence?.tiers ?? {};
  const viewers = presence ? presence.viewers.toLocaleString() : "–";
  const tierNote = presence ? `${(tiers.webrtc ?? 0).toLocaleString()} real-time · ${(tiers.hls ?? 0).toLocaleString()} standard` : "";
  const seconds = elapsed(session);
  const sales = stats.sessionId === session.id ? stats.sales : null;
  const money = sales ? formatPrice(sales.revenue_minor, sales.currency || session.products?.[0]?.currency || "USD") : "–";
  const orders = sales ? `${sales.orders} ${sales.orders === 1 ? "order" : "orders"}` : "";
  const bitrate = publishingHere(session) && stats.kbps !== null ? `${stats.kbps.toLocaleString()} kbit/s` : "–";
  replaceChildren(
    box,
    stat("stat-viewers", "Watching", viewers, tierNote),
    stat("stat-elapsed", "On air", seconds === null ? "–" : clock(seconds)),
    stat("stat-bitrate", "Bitrate", bitrate, publishingHere(session) ? "sent from this page" : "from your encoder"),
    stat("stat-sales", "Sales", money, orders),
  );
}

function forSelected(event) {
  const detail = event.detail ?? {};
  const session = selectedSession();
  if (!session || detail.sessionId !== session.id) return null;
  if (stats.sessionId !== session.id) Object.assign(stats, { sessionId: session.id, presence: null, kbps: null, sales: null, mediaTime: null });
  return detail;
}

document.addEventListener("liveshop:presence", (event) => {
  const detail = forSelected(event);
  if (!detail) return;
  stats.presence = detail.presence;
  renderStats();
});
document.addEventListener("liveshop:broadcast-stats", (event) => {
  const detail = forSelected(event);
  if (!detail) return;
  stats.kbps = detail.kbps;
  renderStats();
});
document.addEventListener("liveshop:sales", (event) => {
  const detail = forSelected(event);
  if (!detail) return;
  stats.sales = detail.summary;
  renderStats();
});
document.addEventListener("liveshop:broadcast-info", (event) => {
  const detail = forSelected(event);
  if (!detail) return;
  if (typeof detail.mediaTime === "number") stats.mediaTime = { seconds: detail.mediaTime, at: performance.now() };
  // the media says something else than what the page shows: read the session again
  if (detail.state && detail.state !== selectedSession().state) refreshSession().catch(() => null);
});
document.addEventListener("liveshop:publisher", () => {
  layout();
  renderStats();
});
document.addEventListener("liveshop:flash-sale-for", () => showTab("lineup"));

// ---------- the safety net: the server's state, every few seconds ----------

async function check() {
  const session = selectedSession();
  if (!session || session.state === "ended" || document.hidden) return;
  try {
    const fresh = await api(`/api/sessions/${session.id}`);
    if (selectedSession()?.id === session.id && fresh.state !== selectedSession().state) await refreshSession();
  } catch {
    /* offline for a moment: the next check tries again */
  }
}

// ---------- start-up ----------

for (const button of document.querySelectorAll("#console-tabs .console-tab")) {
  button.addEventListener("click", () => showTab(button.dataset.tab, { scroll: true }));
}
PHONE.addEventListener("change", () => layout());

let shownId = null;
onSessionSelected((session) => {
  if (!session) return;
  if (shownId !== session.id) mode = null; // another show: its default tab
  shownId = session.id;
  layout();
  renderStats();
});

setInterval(renderStats, 1000);
setInterval(check, CHECK_MS);
