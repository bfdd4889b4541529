// Watch page shell: header, state message and line-up for session.html?id=N.
//
// Other modules on this page (video, room, shop) share the loaded session:
//   import { ready, setSessionState } from "/js/pages/session.js";
//   const { session, user } = await ready;   // null when the show could not be loaded
// A "liveshop:session" CustomEvent ({detail: {session, user}}) is also dispatched on
// document once loaded, and "liveshop:state" ({detail: {state}}) on every state change.

import { ApiError, api, formatPrice, formatRelative, formatTime } from "../api.js";
import { avatar, badge, cover, el, emptyState, icon, openSheet, param, renderNav, replaceChildren, skeletons } from "../ui.js";

let current = null;
let countdownTimer = null;

function productItem(product) {
  const image = product.images && product.images[0];
  const thumb = image
    ? el("img", { class: "product-img", src: image, alt: "", loading: "lazy" })
    : cover(null, product.title, "product-img");
  let stock = null;
  if (typeof product.stock === "number") {
    if (product.stock <= 0) stock = el("span", { class: "stock-low" }, "Sold out");
    else if (product.stock <= 5) stock = el("span", { class: "stock-low" }, `Only ${product.stock} left`);
  }
  return el(
    "li",
    { class: "product", dataset: { productId: String(product.id) } },
    thumb,
    el(
      "div",
      { class: "product-body" },
      el("div", { class: "product-title" }, product.title),
      el("div", { class: "row small" }, el("span", { class: "price" }, formatPrice(product.price_minor, product.currency)), stock),
    ),
    el("div", { class: "product-actions" }),
  );
}

function renderLineup(products) {
  const list = document.getElementById("lineup-list");
  list.setAttribute("aria-busy", "false");
  document.getElementById("lineup-count").textContent = products.length ? `${products.length} products` : "";
  if (products.length === 0) {
    replaceChildren(list, el("li", {}, emptyState("No products yet", "The host has not added products to this show.", { iconName: "bag" })));
  } else {
    replaceChildren(list, products.map(productItem));
  }
  const button = document.getElementById("lineup-button");
  replaceChildren(button, icon("bag"));
  button.hidden = products.length === 0;
  // The sheet borrows the real list (with whatever other modules added to it, e.g. Buy
  // buttons) and gives it back when it closes.
  button.onclick = () => {
    const placeholder = document.createComment("lineup-list");
    list.replaceWith(placeholder);
    openSheet({ title: "In this show", id: "lineup-sheet", content: list, onClose: () => placeholder.replaceWith(list) });
  };
}

function stateMessage(session) {
  const box = document.getElementById("state-message");
  clearInterval(countdownTimer);
  if (session.state === "scheduled") {
    const countdown = () =>
      new Date(session.starts_at).getTime() > Date.now() ? formatRelative(session.starts_at) : "Starting soon";
    const when = el("div", { class: "when" }, countdown());
    replaceChildren(
      box,
      el("h2", {}, "This show hasn't started yet"),
      el("p", {}, `Starts ${formatTime(session.starts_at)}`),
      when,
    );
    countdownTimer = setInterval(() => {
      when.textContent = countdown();
    }, 1000);
    box.dataset.state = "scheduled";
    box.hidden = false;
  } else if (session.state === "ended") {
    replaceChildren(
      box,
      el("h2", {}, "This show has ended"),
      el("p", {}, session.ended_at ? `It ended ${formatTime(session.ended_at)}.` : "Thanks for watching!"),
      el("div", { class: "row", style: { "justify-content": "center", "margin-top": "14px" } },
        el("a", { class: "btn btn-primary btn-small", href: `/replay.html?id=${encodeURIComponent(session.id)}` }, icon("play"), "Watch the replay"),
        el("a", { class: "btn btn-ghost btn-small", href: "/" }, "More shows"),
      ),
    );
    box.dataset.state = "ended";
    box.hidden = false;
  } else if (session.state === "reconnecting") {
    replaceChildren(box, el("h2", {}, "Reconnecting…"), el("p", {}, "The host's connection dropped. Hang on, the show will resume."));
    box.dataset.state = "reconnecting";
    box.hidden = false;
  } else {
    box.hidden = true;
    delete box.dataset.state;
  }
}

/**
 * Update the badge and the state message when the show's state changes
 * ('scheduled' | 'live' | 'reconnecting' | 'ended'), e.g. from the live room.
 */
export function setSessionState(state) {
  if (!current) return;
  current.state = state;
  replaceChildren(document.getElementById("state-badge"), badge(state === "scheduled" ? "upcoming" : state));
  document.body.dataset.state = state;
  stateMessage(current);
  document.dispatchEvent(new CustomEvent("liveshop:state", { detail: { state } }));
}

function renderHeader(session) {
  const host = session.host ?? {};
  document.getElementById("host-avatar").replaceWith(Object.assign(avatar(host, true), { id: "host-avatar" }));
  const hostName = host.display_name || host.username || "";
  replaceChildren(document.getElementById("host-name"), host.id ? el("a", { href: `/creator.html?id=${encodeURIComponent(host.id)}`, style: { color: "inherit" } }, hostName) : hostName);
  document.getElementById("show-title").textContent = session.title;
  document.title = `${session.title} · LiveShop`;
  if (session.description) {
    document.getElementById("about-text").textContent = session.description;
    document.getElementById("about").hidden = false;
  }
}

/** The host, the show's moderators and admins get a way into the moderator console. */
function renderModeratorLink(session, user) {
  if (!user) return;
  const moderates =
    user.role === "admin" ||
    session.host?.id === user.id ||
    (session.moderators ?? []).some((m) => m.id === user.id);
  if (!moderates) return;
  const link = el(
    "a",
    { class: "moderate-link", id: "moderate-link", href: `/moderate.html?id=${encodeURIComponent(session.id)}` },
    "Moderate",
  );
  document.querySelector("#watch-header .meta")?.prepend(link);
}

function notFound(message) {
  const box = document.getElementById("state-message");
  replaceChildren(box, el("h2", {}, "Show not found"), el("p", {}, message),
    el("div", { class: "row", style: { "justify-content": "center", "margin-top": "14px" } },
      el("a", { class: "btn btn-primary btn-small", href: "/" }, "Browse shows")));
  box.dataset.state = "missing";
  box.hidden = false;
  document.getElementById("show-title").textContent = "Show not found";
  replaceChildren(document.getElementById("lineup-list"));
  document.getElementById("lineup").hidden = true;
}

async function main() {
  replaceChildren(document.getElementById("lineup-list"), skeletons(3, "skeleton skeleton-row"));
  const user = await renderNav();
  const id = param("id");
  if (!id || !/^\d+$/.test(id)) {
    notFound("This link does not point to a show.");
    return null;
  }
  let session;
  try {
    session = await api(`/api/sessions/${id}`);
  } catch (err) {
    notFound(err instanceof ApiError && err.status === 404 ? "It may have been removed." : err.message);
    return null;
  }
  current = session;
  renderHeader(session);
  renderModeratorLink(session, user);
  renderLineup(session.products ?? []);
  setSessionState(session.state);
  const detail = { session, user };
  document.dispatchEvent(new CustomEvent("liveshop:session", { detail }));
  return detail;
}

/** Resolves with {session, user} once the show is loaded, or null if it could not be. */
export const ready = main();
