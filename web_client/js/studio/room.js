// The host's room in the studio: the chat with moderation (#room-slot) and the line-up with
// one-click pin / unpin and "Flash sale" (#lineup-slot), for the selected session, plus a
// link to the full moderator console.
//
// It also tells the rest of the studio what the room says, as document events:
//   "liveshop:presence"       {sessionId, presence}   viewers in all and per video tier
//   "liveshop:studio-chat"    {sessionId, message}    a chat message (the preview's overlay)
//   "liveshop:studio-chat-removed" {sessionId, messageId}
//   "liveshop:studio-reactions"    {sessionId, reactions: {kind: count}}
//   "liveshop:flash-sale-for" {sessionId, productId}  the host asked for a flash sale
// and it re-reads the session whenever the room announces a new state (room:state) or the
// socket comes back, so the studio's badge, buttons and list follow the server.

import { onSessionSelected, refreshSession, selectedSession } from "../pages/studio.js";
import { mountModeration } from "../moderate/panel.js";
import { el } from "../ui.js";

const slot = document.getElementById("room-slot");
const lineupSlot = document.getElementById("lineup-slot");
let mounted = null;
let mountedId = null;

function tell(name, detail) {
  document.dispatchEvent(new CustomEvent(name, { detail }));
}

function flashSaleButton(sessionId) {
  return (product) =>
    el(
      "button",
      {
        type: "button",
        class: "btn btn-ghost btn-small pin-sale",
        title: `Start a flash sale on ${product.title}`,
        onclick: () => tell("liveshop:flash-sale-for", { sessionId, productId: product.id }),
      },
      "Flash sale",
    );
}

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
  mounted = mountModeration(body, session, { compact: true, pinExtras: flashSaleButton(session.id) });
  // the line-up (pins, flash sales) has its own place in the console, beside the camera
  if (lineupSlot) {
    mounted.pinsSection.id = "lineup-pins";
    lineupSlot.replaceChildren(mounted.pinsSection);
  }
  follow(mounted.room, session.id);
});

/** Presence, chat and reactions for the studio; the session's state from the room. */
function follow(room, sessionId) {
  const announcePresence = (presence) => {
    if (presence) tell("liveshop:presence", { sessionId, presence });
  };
  room.socket.on("room:tick", (tick) => {
    announcePresence(tick.presence);
    if (tick.reactions) tell("liveshop:studio-reactions", { sessionId, reactions: tick.reactions });
  });
  room.socket.on("chat:message", (message) => tell("liveshop:studio-chat", { sessionId, message }));
  room.socket.on("chat:removed", (r) => tell("liveshop:studio-chat-removed", { sessionId, messageId: r.message_id }));
  room.socket.on("room:state", (s) => {
    if (s.session_id === sessionId && selectedSession()?.id === sessionId) refreshSession().catch(() => null);
  });
  // The panel's connect handler joins first; the server answers a socket's events in order.
  let connectedBefore = false;
  room.socket.on("connect", async () => {
    // back after a drop: whatever changed meanwhile, read the state again
    if (connectedBefore && selectedSession()?.id === sessionId) refreshSession().catch(() => null);
    connectedBefore = true;
    const ack = await room.call("room:presence", { session_id: sessionId });
    if (ack.ok) announcePresence(ack.presence);
  });
}
