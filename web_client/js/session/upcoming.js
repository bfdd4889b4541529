// The show page's extras: before a show starts, its cover on the stage and "Remind me"
// (a notice when it goes live) with "Add to calendar" (.ics); for every show, Share (a link
// and a QR code).

import { ApiError, api, getToken } from "../api.js";
import { ready } from "../pages/session.js";
import { openShareSheet } from "../share.js";
import { busy, el, icon, toast } from "../ui.js";

function showCover(session) {
  if (!session.cover_url || document.getElementById("stage-cover")) return;
  const stage = document.getElementById("stage");
  const img = el("img", { class: "stage-cover", id: "stage-cover", src: session.cover_url, alt: "" });
  stage?.prepend(img);
}

function hideCover() {
  document.getElementById("stage-cover")?.remove();
}

async function downloadCalendar(session, button) {
  try {
    const response = await busy(button, () => api(`/api/sessions/${session.id}/calendar.ics`, { raw: true }));
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `liveshop-show-${session.id}.ics`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(err instanceof ApiError ? err.message : "Could not make the calendar file.", "error");
  }
}

function remindButton(session, user) {
  if (!user) {
    const next = encodeURIComponent(location.pathname + location.search);
    return el("a", { class: "btn btn-primary btn-small", id: "remind-button", href: `/login.html?next=${next}` }, "Log in to get a reminder");
  }
  const button = el("button", { type: "button", class: "btn btn-primary btn-small", id: "remind-button", "aria-pressed": "false" }, "Remind me");
  const render = (on) => {
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? "Reminder on" : "Remind me";
    button.className = on ? "btn btn-ghost btn-small" : "btn btn-primary btn-small";
  };
  api(`/api/sessions/${session.id}/reminder`)
    .then((r) => render(r.reminder))
    .catch(() => {});
  button.addEventListener("click", async () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    try {
      const r = await busy(button, () => api(`/api/sessions/${session.id}/reminder`, { method: on ? "PUT" : "DELETE" }));
      render(r.reminder);
      toast(r.reminder ? "We'll let you know here when the show goes live" : "Reminder off", "success");
      if (r.reminder) import("../notices.js").then((m) => m.watchReminders()).catch(() => {});
    } catch (err) {
      toast(err instanceof ApiError ? err.message : "Could not change the reminder.", "error");
    }
  });
  return button;
}

let actions = null;

/** Puts Remind me and Add to calendar in the "hasn't started yet" message (again after the
 * page re-renders that message, e.g. when the live room's snapshot arrives). */
function upcomingActions(session, user) {
  const box = document.getElementById("state-message");
  if (!box || box.dataset.state !== "scheduled") return;
  if (!actions) {
    const calendar = el("button", { type: "button", class: "btn btn-ghost btn-small", id: "calendar-button" }, icon("calendar"), "Add to calendar");
    calendar.addEventListener("click", () => downloadCalendar(session, calendar));
    actions = el("div", { class: "row upcoming-actions", id: "upcoming-actions" }, remindButton(session, user), calendar);
  }
  if (!box.contains(actions)) box.append(actions);
}

function shareButton(session) {
  const meta = document.querySelector("#watch-header .meta");
  if (!meta || document.getElementById("share-button")) return;
  const button = el("button", { type: "button", class: "stage-button", id: "share-button", "aria-label": "Share this show" }, icon("external"));
  button.addEventListener("click", () => openShareSheet(session));
  meta.append(button);
}

const loaded = await ready;
if (loaded) {
  const { session } = loaded;
  const user = getToken() ? loaded.user : null;
  shareButton(session);
  if (session.state === "scheduled") {
    showCover(session);
    upcomingActions(session, user);
  }
  document.addEventListener("liveshop:state", (event) => {
    if (event.detail.state === "scheduled") upcomingActions(session, user);
    else hideCover();
  });
}
