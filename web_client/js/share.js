// The share sheet: a show's link to copy or hand to the phone's share menu, and its QR code
// (GET /api/sessions/{id}/qr.svg, drawn by the server) for a screen or a printed card.
// The watch page and the studio open it; share previews of the link come from the server.

import { api } from "./api.js";
import { copyText, el, icon, openSheet } from "./ui.js";

/** The public address of a show's page. */
export function showLink(session) {
  return `${location.origin}/session.html?id=${encodeURIComponent(session.id)}`;
}

/** Open the share sheet for `session` ({id, title, visibility}). */
export function openShareSheet(session) {
  const link = showLink(session);
  const qr = el("img", { class: "share-qr", id: "share-qr", alt: `QR code for ${session.title}`, width: "198", height: "198" });
  // fetched with the token, so a private show's host gets its code too
  api(`/api/sessions/${encodeURIComponent(session.id)}/qr.svg`, { raw: true })
    .then((r) => r.blob())
    .then((blob) => {
      qr.src = URL.createObjectURL(blob);
    })
    .catch(() => qr.replaceWith(el("p", { class: "muted small" }, "The QR code could not be made right now.")));
  const input = el("input", { class: "input", id: "share-link", value: link, readonly: true, "aria-label": "Link to this show" });
  input.addEventListener("focus", () => input.select());
  const actions = el(
    "div",
    { class: "inline-form" },
    input,
    el("button", { type: "button", class: "btn btn-primary btn-small", id: "share-copy", onclick: () => copyText(link, "Link copied") }, icon("copy"), "Copy"),
  );
  const native =
    typeof navigator.share === "function"
      ? el("button", { type: "button", class: "btn btn-ghost btn-block", id: "share-native", onclick: () => navigator.share({ title: session.title, url: link }).catch(() => {}) }, "Share with an app…")
      : null;
  const note = session.visibility === "private" ? el("p", { class: "muted small" }, "This show is private: only you, its moderators and admins can open the link.") : null;
  openSheet({
    title: "Share this show",
    id: "share-sheet",
    content: [actions, el("div", { class: "share-qr-box" }, qr, el("p", { class: "muted small" }, "Scan to open the show on a phone.")), native, note],
  });
}
