// Small DOM helpers shared by every page: a DOM builder (text stays text, never
// HTML), icons, toasts, the top bar / tab bar, bottom sheets, badges and states.

import { api, clearToken, currentUser, isHost } from "./api.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// The pages' forms are sent by their scripts, never by the browser itself: a form the
// page has not wired yet does nothing when submitted, instead of reloading the page with
// its fields (a password among them) in the address bar.
document.addEventListener("submit", (event) => {
  if (!event.target.hasAttribute("action")) event.preventDefault();
});

/**
 * Build an element. Strings and numbers among `children` become text nodes (never
 * parsed as HTML); arrays are flattened; null/undefined/false are skipped.
 *
 * attrs: `class`, `text`, `dataset` {k: v}, `style` {prop: value}, `on<event>` handlers
 * (e.g. `onclick`), boolean attributes (true sets, false omits), anything else as an attribute.
 *
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style" && typeof value === "object") {
      for (const [prop, v] of Object.entries(value)) node.style.setProperty(prop, v);
    } else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" && "value" in node) node.value = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace every child of `node` with `children` (same rules as el()). */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const ICONS = {
  home: ["M3 10.5 12 3l9 7.5", "M5 9.5V21h5v-6h4v6h5V9.5"],
  feed: ["M7 3h10a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2Z", "m10 9 5 3-5 3Z"],
  studio: ["M3 7h12v10H3z", "m15 10 6-3v10l-6-3"],
  bag: ["M5 8h14l-1 13H6L5 8Z", "M9 8V6a3 3 0 0 1 6 0v2"],
  user: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8Z", "M4 21a8 8 0 0 1 16 0"],
  eye: ["M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12Z", "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6Z"],
  eyeOff: ["M3 3l18 18", "M10.6 5.1A10 10 0 0 1 12 5c6.5 0 10 7 10 7a17 17 0 0 1-3 3.8", "M6.6 6.6C3.8 8.4 2 12 2 12s3.5 7 10 7a9.6 9.6 0 0 0 5.4-1.6", "M9.9 9.9a3 3 0 0 0 4.2 4.2"],
  copy: ["M9 9h11v11H9z", "M5 15H4V4h11v1"],
  key: ["M15 7a4 4 0 1 1-3.9 5H3v3h3v3h3v-3h2.1A4 4 0 0 1 15 7Z"],
  refresh: ["M20 11a8 8 0 1 0-2.3 5.7", "M20 4v7h-7"],
  calendar: ["M4 6h16v14H4z", "M4 10h16", "M8 3v5", "M16 3v5"],
  plus: ["M12 5v14", "M5 12h14"],
  close: ["M6 6l12 12", "M18 6 6 18"],
  play: ["m8 5 11 7-11 7Z"],
  lock: ["M6 11h12v10H6z", "M8 11V7a4 4 0 0 1 8 0v4"],
  image: ["M4 5h16v14H4z", "m4 16 5-5 4 4 2-2 5 5", "M15.5 9.5h.01"],
  radio: ["M12 14a2 2 0 1 0 0-4 2 2 0 0 0 0 4Z", "M8.5 8.5a5 5 0 0 0 0 7", "M15.5 8.5a5 5 0 0 1 0 7", "M5.6 5.6a9 9 0 0 0 0 12.8", "M18.4 5.6a9 9 0 0 1 0 12.8"],
  stop: ["M6 6h12v12H6z"],
  external: ["M14 4h6v6", "M20 4 10 14", "M19 14v6H4V5h6"],
  search: ["M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14Z", "m20 20-4-4"],
};

/** An inline SVG icon (stroke style, currentColor). */
export function icon(name, className = "") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.9");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  if (className) svg.setAttribute("class", className);
  for (const d of ICONS[name] ?? []) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  return svg;
}

// ---------- toasts ----------

function toastHost() {
  let host = document.getElementById("toasts");
  if (!host) {
    host = el("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(host);
  }
  return host;
}

/**
 * Show a short message at the bottom of the screen.
 * @param {string} message
 * @param {"info"|"success"|"error"} [kind]
 */
export function toast(message, kind = "info", { timeout = 3800 } = {}) {
  const node = el("div", { class: `toast toast-${kind}`, dataset: { kind } }, sentence(message));
  toastHost().appendChild(node);
  setTimeout(() => {
    node.classList.add("is-leaving");
    setTimeout(() => node.remove(), 220);
  }, timeout);
  return node;
}

// ---------- navigation ----------

/** Initials for an avatar, from a display name or username. */
export function initials(name) {
  const parts = String(name || "?").trim().split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

/** A round avatar with initials, coloured from the name. */
export function avatar(user, large = false) {
  const name = (user && (user.display_name || user.username)) || "?";
  return el(
    "span",
    { class: large ? "avatar avatar-l" : "avatar", style: { background: gradientFor(name) }, "aria-hidden": "true" },
    initials(name),
  );
}

function closeMenus() {
  document.querySelectorAll(".menu").forEach((m) => m.remove());
}

function userMenu(user) {
  return el(
    "div",
    { class: "menu", role: "menu", id: "user-menu" },
    el(
      "div",
      { class: "menu-head" },
      el("div", { style: { "font-weight": "700" } }, user.display_name || user.username),
      el("div", { class: "muted small" }, `@${user.username} · ${user.role}`),
    ),
    isHost(user) ? el("a", { href: "/studio.html", role: "menuitem" }, "Studio") : null,
    isHost(user) ? el("a", { href: "/compose.html", role: "menuitem" }, "New post") : null,
    isHost(user) ? el("a", { href: "/shop-settings.html", role: "menuitem" }, "Shipping and tax") : null,
    isHost(user) ? el("a", { href: "/fulfilment.html", role: "menuitem" }, "Orders to ship") : null,
    user.role === "admin" ? el("a", { href: "/admin.html", role: "menuitem" }, "Admin") : null,
    el("a", { href: "/orders.html", role: "menuitem" }, "My orders"),
    el(
      "button",
      {
        type: "button",
        role: "menuitem",
        id: "logout",
        onclick: async () => {
          try {
            // revokes the token on the server (every device), not only in this browser
            await api("/api/auth/logout", { method: "POST" });
          } catch {
            // offline or already logged out: forgetting the token here is all we can do
          }
          clearToken();
          window.location.href = "/";
        },
      },
      "Log out",
    ),
  );
}

/**
 * Fill the page's `<header id="topbar">` with the brand, the navigation (a bottom tab bar
 * on phones) and the account area. Resolves with the current user (or null).
 *
 * @param {{active?: "home"|"feed"|"search"|"studio"|"orders"}} [options]
 */
export async function renderNav({ active } = {}) {
  let header = document.getElementById("topbar");
  if (!header) {
    header = el("header", { id: "topbar" });
    document.body.prepend(header);
  }
  header.className = "topbar";
  let user = null;
  try {
    user = await currentUser();
  } catch {
    user = null;
  }
  const link = (key, href, label, iconName) =>
    el(
      "a",
      { href, "aria-current": active === key ? "page" : false, dataset: { nav: key } },
      icon(iconName),
      el("span", {}, label),
    );
  const nav = el(
    "nav",
    { class: "nav", "aria-label": "Main" },
    link("home", "/", "Home", "home"),
    link("feed", "/feed.html", "Feed", "feed"),
    link("search", "/search.html", "Search", "search"),
    isHost(user) ? link("studio", "/studio.html", "Studio", "studio") : null,
    user ? link("orders", "/orders.html", "Orders", "bag") : null,
  );
  const account = el("div", { class: "account" });
  if (user) {
    const button = el(
      "button",
      { type: "button", class: "user-button", id: "user-button", "aria-haspopup": "menu", "aria-expanded": "false" },
      avatar(user),
      el("span", { class: "name" }, user.display_name || user.username),
    );
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      const open = document.getElementById("user-menu");
      closeMenus();
      button.setAttribute("aria-expanded", String(!open));
      if (!open) header.appendChild(userMenu(user));
    });
    account.appendChild(button);
  } else {
    const next = encodeURIComponent(location.pathname + location.search);
    const onAuthPage = /\/(login|signup)\.html$/.test(location.pathname);
    account.append(
      el("a", { class: "btn btn-ghost btn-small", href: onAuthPage ? "/login.html" : `/login.html?next=${next}` }, "Log in"),
      el("a", { class: "btn btn-primary btn-small", href: "/signup.html" }, "Sign up"),
    );
  }
  if (user) {
    // a toast on any open page when a show they asked to be reminded of goes live
    import("./notices.js").then((m) => m.watchReminders()).catch(() => {});
  }
  replaceChildren(
    header,
    el(
      "div",
      { class: "topbar-inner" },
      el("a", { class: "brand", href: "/", "aria-label": "LiveShop home" }, el("img", { src: "/img/logo.svg", alt: "" }), el("span", {}, "Live", el("b", {}, "Shop"))),
      nav,
      account,
    ),
  );
  return user;
}

document.addEventListener("click", (event) => {
  if (!(event.target instanceof Element) || !event.target.closest(".menu")) closeMenus();
});

// ---------- bottom sheet ----------

let openSheetState = null;

/**
 * Open a bottom sheet (a centred dialog on wide screens). Only one is open at a time.
 * Closes on the close button, a backdrop tap or Escape.
 *
 * @param {{title: string, content: Node|Node[], id?: string, onClose?: () => void}} options
 * @returns {{sheet: HTMLElement, close: () => void}}
 */
export function openSheet({ title, content, id, onClose }) {
  closeSheet();
  const backdrop = el("div", { class: "sheet-backdrop" });
  const titleId = `sheet-title-${Date.now()}`;
  const sheet = el(
    "div",
    { class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId, id },
    el(
      "div",
      { class: "sheet-head" },
      el("h2", { id: titleId }, title),
      el("button", { type: "button", class: "btn btn-ghost btn-icon", "aria-label": "Close", onclick: () => closeSheet() }, icon("close")),
    ),
    el("div", { class: "sheet-body" }, content),
  );
  const onKey = (event) => {
    if (event.key === "Escape") closeSheet();
  };
  backdrop.addEventListener("click", () => closeSheet());
  document.addEventListener("keydown", onKey);
  document.body.append(backdrop, sheet);
  document.body.style.overflow = "hidden";
  openSheetState = { sheet, backdrop, onKey, onClose };
  const first = sheet.querySelector("input, select, textarea");
  if (first instanceof HTMLElement) first.focus();
  return { sheet, close: closeSheet };
}

/** Close the open bottom sheet, if any. */
export function closeSheet() {
  if (!openSheetState) return;
  const { sheet, backdrop, onKey, onClose } = openSheetState;
  openSheetState = null;
  document.removeEventListener("keydown", onKey);
  sheet.remove();
  backdrop.remove();
  document.body.style.overflow = "";
  if (onClose) onClose();
}

/**
 * Ask for confirmation in a bottom sheet. Resolves true when confirmed.
 * @param {{title: string, text: string, confirmLabel?: string, danger?: boolean}} options
 */
export function confirmAction({ title, text, confirmLabel = "Confirm", cancelLabel = "Not now", danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = el(
      "button",
      {
        type: "button",
        class: danger ? "btn btn-danger" : "btn btn-primary",
        id: "confirm-yes",
        onclick: () => {
          answer = true;
          closeSheet();
        },
      },
      confirmLabel,
    );
    const no = el("button", { type: "button", class: "btn btn-ghost", id: "confirm-no", onclick: () => closeSheet() }, cancelLabel);
    openSheet({
      title,
      id: "confirm-sheet",
      content: [el("p", { class: "muted" }, text), el("div", { class: "row", style: { "justify-content": "flex-end" } }, no, yes)],
      onClose: () => resolve(answer),
    });
    yes.focus();
  });
}

/** The bottom-sheet helpers under one name: `bottomSheet.open({...})`, `bottomSheet.close()`. */
export const bottomSheet = Object.freeze({ open: openSheet, close: closeSheet });

// ---------- badges, covers, states ----------

const BADGES = {
  live: ["badge badge-live", "Live"],
  reconnecting: ["badge badge-reconnecting", "Reconnecting"],
  scheduled: ["badge badge-upcoming", "Upcoming"],
  upcoming: ["badge badge-upcoming", "Upcoming"],
  replay: ["badge badge-replay", "Replay"],
  ended: ["badge badge-ended", "Ended"],
};

/** A state badge: live (red pill), upcoming, replay, ended, reconnecting. */
export function badge(state) {
  const [cls, label] = BADGES[state] ?? ["badge badge-soft", String(state)];
  return el("span", { class: cls, dataset: { state } }, label);
}

function hash(text) {
  let h = 2166136261;
  for (const ch of String(text)) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 16777619);
  }
  // Final mix so that titles differing only at the end still get different hues.
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995);
  h ^= h >>> 15;
  return h >>> 0;
}

/** A stable, pleasant gradient for a seed (used when there is no cover image). */
export function gradientFor(seed) {
  const h = hash(seed);
  const hue = h % 360;
  const hue2 = (hue + 40 + (h % 60)) % 360;
  return `linear-gradient(135deg, hsl(${hue} 72% 56%), hsl(${hue2} 78% 42%))`;
}

/** A cover element: the image when there is one, else a gradient with an initial. */
export function cover(url, seed, className = "cover") {
  const node = el("div", { class: className });
  if (url && /^(\/|https?:)/.test(url)) {
    node.style.backgroundImage = `url("${encodeURI(url).replace(/"/g, "%22")}")`;
  } else {
    node.style.background = gradientFor(seed);
    if (className.split(" ").includes("cover")) node.appendChild(el("span", { class: "cover-initial", "aria-hidden": "true" }, initials(seed).slice(0, 1)));
  }
  return node;
}

/** An empty state block. */
export function emptyState(title, text, { iconName = "play", action = null } = {}) {
  return el("div", { class: "empty" }, icon(iconName), el("strong", {}, title), text ? el("p", {}, text) : null, action);
}

/** Placeholder shimmer blocks while something loads. */
export function skeletons(count, className = "skeleton skeleton-card") {
  return Array.from({ length: count }, () => el("div", { class: className, "aria-hidden": "true" }));
}

/** Put a button into a busy state while `work` runs; returns its result. */
export async function busy(button, work) {
  button.disabled = true;
  button.classList.add("is-busy");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.classList.remove("is-busy");
  }
}

/** A message with its first letter in upper case (server messages start lower-case). */
export function sentence(text) {
  const value = String(text ?? "");
  return value ? value[0].toUpperCase() + value.slice(1) : value;
}

/** Show (or clear, with null) an inline error box. */
export function showError(box, message) {
  if (!box) return;
  box.textContent = sentence(message ?? "");
  box.hidden = !message;
}

/** A query-string parameter of the current page. */
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/**
 * A same-site path from a ?next= value, or null: where the log-in and sign-up pages may send
 * the browser. Only a path that starts with a single "/" is followed, judged as given and
 * decoded once more: no backslash (browsers read it as "/"), no control characters or
 * spaces (URL parsing drops tabs and line breaks, so "/\t/evil.example" is
 * "//evil.example"), no "//" anywhere (protocol-relative); and the URL it resolves to
 * must be on this origin.
 */
export function safeNext(value) {
  if (typeof value !== "string" || !value.startsWith("/")) return null;
  let decoded;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return null;
  }
  for (const text of [value, decoded]) {
    if (!text.startsWith("/") || text.includes("//") || /[\\\u0000-\u0020\u007f-\u009f]/.test(text)) {
      return null;
    }
  }
  let url;
  try {
    url = new URL(value, location.origin);
  } catch {
    return null;
  }
  if (url.origin !== location.origin || /\/(login|signup)\.html/.test(url.pathname)) return null;
  return url.pathname + url.search + url.hash;
}

/** Copy text to the clipboard, with a toast. */
export async function copyText(text, label = "Copied") {
  try {
    await navigator.clipboard.writeText(text);
    toast(label, "success");
  } catch {
    const area = el("textarea", { style: { position: "fixed", opacity: "0" } });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    toast(ok ? label : "Copy failed: select the text and copy it by hand", ok ? "success" : "error");
  }
}
