// The live room on the watch page: chat, reactions with floating hearts, pinned product
// cards over the video and the viewer count. Joins the room of session.html?id=N.

import { currentUser } from "../api.js";
import { ready, setSessionState } from "../pages/session.js";
import { ChatList } from "../room/chat.js";
import { renderCards } from "../room/cards.js";
import { openRoom, reason } from "../room/socket.js";
import { el, icon, param } from "../ui.js";
import { currentTier, mediaTimeOfServerTime, pictureSync } from "./playback.js";

const REACTIONS = [
  ["heart", "❤️"],
  ["fire", "🔥"],
  ["clap", "👏"],
  ["laugh", "😂"],
  ["wow", "😮"],
];
const EMOJI = Object.fromEntries([...REACTIONS, ["cart", "🛒"]]);

function ensureStyles() {
  if (!document.querySelector('link[href="/css/room.css"]')) {
    document.head.append(el("link", { rel: "stylesheet", href: "/css/room.css" }));
  }
}

function floatUp(layer, emoji) {
  if (layer.childElementCount > 40) return; // bursts: keep the page light
  const drift = Math.round(Math.random() * 40 - 20);
  const bubble = el("span", { class: "float-reaction", style: { "--drift": `${drift}px` } }, emoji);
  bubble.addEventListener("animationend", () => bubble.remove());
  layer.append(bubble);
}

function showReactions(layer, counts) {
  for (const [kind, n] of Object.entries(counts)) {
    const emoji = EMOJI[kind];
    if (!emoji) continue;
    for (let i = 0; i < Math.min(n, 6); i += 1) setTimeout(() => floatUp(layer, emoji), i * 90);
  }
}

function setViewers(presence) {
  const box = document.getElementById("viewer-count");
  if (!box || !presence) return;
  box.replaceChildren(icon("eye"), el("span", {}, presence.viewers.toLocaleString()));
  box.title = `${presence.viewers} watching now · peak ${presence.peak}`;
  box.dataset.viewers = String(presence.viewers);
}

// On the LL-HLS tier the picture is seconds behind the room: a tick waits (playback.js)
// until the picture reaches its media time: a newly pinned card's pinned_media_time, or
// else the moment the tick left the server (commerce.server_time, on the server's clock).
let queuedPins = new Set(); // product ids of the last card list handed to pictureSync
function newsMediaTime(tick) {
  if (tick.pins) {
    const fresh = tick.pins.filter((c) => !queuedPins.has(c.product_id) && typeof c.pinned_media_time === "number");
    queuedPins = new Set(tick.pins.map((c) => c.product_id));
    if (fresh.length) return Math.max(...fresh.map((c) => c.pinned_media_time));
  }
  return mediaTimeOfServerTime(tick.commerce?.server_time);
}

async function main() {
  ensureStyles();
  const loaded = await ready;
  const sessionId = Number(loaded?.session?.id ?? param("id"));
  if (!sessionId) return;
  const user = loaded?.user ?? (await currentUser().catch(() => null));

  const chatSlot = document.getElementById("chat-slot");
  const reactionsSlot = document.getElementById("reactions-slot");
  const cardsBox = document.getElementById("pinned-cards");
  const chat = new ChatList(chatSlot);
  const input = el("input", {
    class: "chat-input",
    name: "text",
    maxlength: "500",
    autocomplete: "off",
    placeholder: user ? "Connecting…" : "Log in to chat",
    "aria-label": "Chat message",
    disabled: true, // until the room is joined
  });
  const send = el("button", { type: "submit", class: "btn btn-primary btn-small", disabled: true }, "Send");
  const status = el("div", { class: "chat-status", role: "status" });
  const form = el("form", { class: "chat-form", id: "chat-form" }, input, send);
  chatSlot.append(status, form);
  const floatLayer = el("div", { class: "float-layer", "aria-hidden": "true" });
  document.getElementById("stage")?.append(floatLayer);


  let joined = false;
  // the room counts its audience per video tier: say which one plays, after every join
  const sayTier = () => {
    const tier = currentTier();
    if (joined && tier) room.call("room:watch_tier", { session_id: sessionId, tier });
  };
  document.addEventListener("liveshop:tier", sayTier);

  const room = openRoom(sessionId, {
    onSnapshot(snap) {
      joined = true;
      sayTier();
      chat.reset(snap.messages);
      input.disabled = send.disabled = !snap.me.can_chat;
      input.placeholder = snap.me.can_chat ? "Say something…" : "Log in to chat";
      if (!snap.me.can_chat && !form.querySelector(".chat-login")) {
        const next = encodeURIComponent(location.pathname + location.search);
        send.replaceWith(el("a", { class: "btn btn-primary btn-small chat-login", href: `/login.html?next=${next}` }, "Log in"));
      }
      pictureSync.hold(newsMediaTime({ pins: snap.pins }), () => renderCards(cardsBox, snap.pins, sessionId));
      setViewers(snap.presence);
      if (snap.session?.state) setSessionState(snap.session.state);
      status.textContent = snap.settings.slow_mode_seconds ? `Slow mode: one message every ${snap.settings.slow_mode_seconds} s` : "";
    },
    onError(error) {
      status.textContent = error.message;
      if (error.code === "banned") {
        status.textContent = "You were removed from this show by its moderators.";
        form.hidden = true;
        document.dispatchEvent(new CustomEvent("liveshop:banned"));
      }
    },
    on: {
      "chat:message": (m) => chat.add(m),
      "chat:removed": (r) => chat.remove(r.message_id),
      "room:tick": (t) => {
        if (t.presence) setViewers(t.presence);
        pictureSync.hold(newsMediaTime(t), () => {
          if (t.reactions) showReactions(floatLayer, t.reactions);
          if (t.pins) renderCards(cardsBox, t.pins, sessionId);
          document.dispatchEvent(new CustomEvent("liveshop:tick", { detail: t }));
        });
      },
      // "live", "reconnecting", "ended" are news too: shown when the picture gets there
      "room:state": (s) => pictureSync.hold(s.media_time ?? null, () => setSessionState(s.state)),
      "room:settings": (s) => {
        status.textContent = s.slow_mode_seconds ? `Slow mode: one message every ${s.slow_mode_seconds} s` : "";
      },
      "room:timeout": (t) => {
        if (t.session_id === sessionId) status.textContent = `You are timed out for ${t.seconds} s.`;
      },
      "room:banned": (b) => {
        if (b.session_id !== sessionId) return;
        status.textContent = "You were removed from this show by its moderators.";
        form.hidden = true;
        document.dispatchEvent(new CustomEvent("liveshop:banned")); // the video stops too
      },
    },
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const clientId = chat.addPending(text, user);
    const ack = await room.call("chat:send", { session_id: sessionId, text, client_id: clientId });
    if (ack.ok) chat.add(ack.message);
    else chat.failPending(clientId, reason(ack));
  });

  // Taps are batched: at most one event per kind every 300 ms, carrying the count.
  const taps = new Map();
  let tapTimer = null;
  const tap = (kind) => {
    taps.set(kind, (taps.get(kind) ?? 0) + 1);
    tapTimer ??= setTimeout(() => {
      tapTimer = null;
      for (const [k, count] of taps) room.call("reaction:send", { session_id: sessionId, kind: k, count: Math.min(count, 50) });
      taps.clear();
    }, 300);
  };

  for (const [kind, emoji] of REACTIONS.slice(0, 3)) {
    reactionsSlot.append(
      el(
        "button",
        {
          type: "button",
          class: "stage-button reaction-button",
          dataset: { kind },
          "aria-label": `Send ${kind}`,
          onclick: () => {
            floatUp(floatLayer, emoji); // instant feedback; everyone else sees it on the next tick
            tap(kind);
          },
        },
        emoji,
      ),
    );
  }
  window.liveshopRoom = room; // for the console and tests

}

main();
