// In-app notices for signed-in people: when a show they asked to be reminded of goes live,
// a toast with a link to it appears on whatever page they have open. A socket is opened
// only while they have a reminder waiting (GET /api/me/reminders); the server sends
// `show:live` to the user's sockets (docs/realtime.md).

import { io } from "/vendor/socket.io-client/socket.io.esm.min.js";
import { api, getToken } from "./api.js";
import { el, toast } from "./ui.js";

let socket = null;

function showLive(notice) {
  const here = new URLSearchParams(location.search).get("id");
  if (location.pathname === "/session.html" && here === String(notice.session_id)) return; // already watching
  const host = notice.host && notice.host.display_name;
  const node = toast(`${host ? `${host} is live: ` : "Live now: "}${notice.title}`, "info", { timeout: 12000 });
  node.classList.add("toast-notice");
  node.append(" ", el("a", { href: notice.url, class: "toast-link", dataset: { sessionId: String(notice.session_id) } }, "Watch now"));
}

/** Listen for the go-live notices of the current user's reminders (once per page). */
export async function watchReminders() {
  if (socket || !getToken()) return;
  let pending = [];
  try {
    pending = (await api("/api/me/reminders")).session_ids || [];
  } catch {
    return; // no notices is better than an error on every page
  }
  if (!pending.length || socket) return;
  socket = io({ path: "/socket.io/", transports: ["websocket", "polling"], auth: { token: getToken() }, reconnectionDelayMax: 8000 });
  socket.on("show:live", showLive);
}
