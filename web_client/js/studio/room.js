// The host's room panel in the studio (#room-slot): compact chat with moderation and
// the pin panel for the selected session, plus a link to the full moderator console.
// It also hands the room's presence (viewers in all and per video tier) to the rest of
// the studio as a "liveshop:presence" event ({sessionId, presence}); the broadcast card
// shows it.

import { onSessionSelected } from "../pages/studio.js";
import { mountModeration } from "../moderate/panel.js";
import { el } from "../ui.js";

if (!document.querySelector('link[href="/css/room.css"]')) {
  document.head.append(el("link", { rel: "stylesheet", href: "/css/room.css" }));
}

const slot = document.getElementById("room-slot");
let mounted = null;
let mountedId = null;

onSessionSelected((session) => {
  if (!slot || !session) return;
  if (mountedId === session.id && mounted) {
    mounted.setSession(session); // a refresh of the same session (line-up may have changed)
    return;
  }
  mounted?.close();
  mountedId = session.id;
  const body = el("div", { id: "room-panel" });
  slot.replaceChildren(
    el(
      "div",
      { class: "section-head" },
      el("h2", {}, "Live room"),
      el("a", { class: "btn btn-ghost btn-small", href: `/moderate.html?id=${session.id}`, target: "_blank", rel: "noopener" }, "Moderator console"),
    ),
    body,
  );
  mounted = mountModeration(body, session, { compact: true });
  followPresence(mounted.room, session.id);
});

function announcePresence(sessionId, presence) {
  if (presence) document.dispatchEvent(new CustomEvent("liveshop:presence", { detail: { sessionId, presence } }));
}

/** Presence comes with the room's ticks when it changes; after each (re)join, ask for it. */
function followPresence(room, sessionId) {
  room.socket.on("room:tick", (tick) => announcePresence(sessionId, tick.presence));
  // The panel's connect handler joins first; the server answers a socket's events in order.
  room.socket.on("connect", async () => {
    const ack = await room.call("room:presence", { session_id: sessionId });
    if (ack.ok) announcePresence(sessionId, ack.presence);
  });
}
