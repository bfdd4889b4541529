// Studio slot: a Share button beside the selected show's Watch page link, opening the share
// sheet (the show page's link to copy and its QR code, for a screen or a printed card).

import { onSessionSelected } from "../pages/studio.js";
import { openShareSheet } from "../share.js";
import { el, icon } from "../ui.js";

let current = null;

const button = el(
  "button",
  { type: "button", class: "btn btn-ghost btn-small", id: "session-share", "aria-label": "Share this show" },
  icon("external"),
  "Share",
);
button.addEventListener("click", () => {
  if (current) openShareSheet(current);
});

onSessionSelected((session) => {
  current = session;
  const actions = document.getElementById("detail-actions");
  if (!actions) return;
  if (!actions.contains(button)) {
    const watch = document.getElementById("detail-watch");
    if (watch) watch.after(button);
    else actions.prepend(button);
  }
  button.hidden = !session;
});
