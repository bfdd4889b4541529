// What viewers say, over the host's camera preview: the newest chat messages and the
// reactions floating up, as the host would see them on the show. A toggle hides it (kept in
// localStorage). Fed by studio/room.js ("liveshop:studio-chat", "liveshop:studio-reactions").

import { onSessionSelected, selectedSession } from "../pages/studio.js";
import { el } from "../ui.js";

const KEEP = 5; // messages on screen
const TTL_MS = 20_000; // a message leaves the overlay after this long
const PREF = "liveshop.studio-overlay";
const EMOJI = { heart: "❤️", fire: "🔥", clap: "👏", laugh: "😂", wow: "😮", cart: "🛒" };

const ui = { root: null, chat: null, floats: null, toggle: null };

function shown() {
  return localStorage.getItem(PREF) !== "off";
}

function applyToggle() {
  const on = shown();
  ui.root.hidden = !on;
  ui.toggle.setAttribute("aria-pressed", String(on));
  ui.toggle.textContent = on ? "Hide chat overlay" : "Show chat overlay";
}

function mount() {
  const preview = document.querySelector("#broadcast-card .preview");
  if (!preview || preview.querySelector("#preview-overlay")) return;
  ui.chat = el("ol", { class: "overlay-chat", id: "overlay-chat", "aria-label": "Chat over the preview" });
  ui.floats = el("div", { class: "overlay-floats", id: "overlay-reactions", "aria-hidden": "true" });
  ui.root = el("div", { class: "preview-overlay", id: "preview-overlay" }, ui.chat, ui.floats);
  ui.toggle = el("button", { type: "button", class: "btn btn-small overlay-toggle", id: "overlay-toggle" });
  ui.toggle.addEventListener("click", () => {
    localStorage.setItem(PREF, shown() ? "off" : "on");
    applyToggle();
  });
  preview.append(ui.root, ui.toggle);
  applyToggle();
}

function addMessage(message) {
  if (!ui.chat) return;
  const row = el(
    "li",
    { class: "overlay-msg", dataset: { id: String(message.id ?? "") } },
    el("span", { class: "chat-author" }, message.user?.name ?? ""),
    " ",
    el("span", { class: "chat-text" }, message.text),
  );
  ui.chat.append(row);
  while (ui.chat.children.length > KEEP) ui.chat.firstElementChild.remove();
  setTimeout(() => row.remove(), TTL_MS);
}

function floatUp(emoji) {
  if (!ui.floats || ui.floats.childElementCount > 30) return; // bursts: keep the page light
  const drift = Math.round(Math.random() * 30 - 15);
  const bubble = el("span", { class: "float-reaction", style: { "--drift": `${drift}px` } }, emoji);
  bubble.addEventListener("animationend", () => bubble.remove());
  ui.floats.append(bubble);
}

const mine = (event) => event.detail && event.detail.sessionId === selectedSession()?.id;

document.addEventListener("liveshop:studio-chat", (event) => {
  if (mine(event)) addMessage(event.detail.message);
});
document.addEventListener("liveshop:studio-chat-removed", (event) => {
  if (!mine(event) || !ui.chat) return;
  ui.chat.querySelector(`[data-id="${CSS.escape(String(event.detail.messageId))}"]`)?.remove();
});
document.addEventListener("liveshop:studio-reactions", (event) => {
  if (!mine(event) || !ui.floats || ui.root.hidden) return;
  for (const [kind, n] of Object.entries(event.detail.reactions)) {
    const emoji = EMOJI[kind];
    if (!emoji) continue;
    for (let i = 0; i < Math.min(n, 5); i += 1) setTimeout(() => floatUp(emoji), i * 90);
  }
});

let sessionId = null;
onSessionSelected((session) => {
  mount();
  if (session && session.id !== sessionId && ui.chat) ui.chat.replaceChildren();
  sessionId = session?.id ?? null;
});
