// The watch page's stage around the video: the connection-state box, the tap-to-unmute
// button and the "Standard latency" badge of the LL-HLS tier (video.js drives them).

import { el, replaceChildren } from "../ui.js";

const player = document.getElementById("player");

export const box = el("div", { id: "video-state", role: "status", "aria-live": "polite", hidden: true });
export const tierBadge = el(
  "div",
  { id: "tier-badge", class: "tier-badge", hidden: true, title: "The video reaches you a few seconds later than real time. Chat and buying work as usual." },
  "Standard latency",
);

function speakerOff() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.9");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ["M4 9h4l5-4v14l-5-4H4z", "m16 9 5 6", "m21 9-5 6"]) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    svg.append(path);
  }
  return svg;
}

export const unmute = el(
  "button",
  { type: "button", id: "unmute", class: "btn btn-small", hidden: true, "aria-label": "Tap to unmute" },
  speakerOff(),
  "Tap to unmute",
);

/** The stage's styles (once). */
export function injectStyles() {
  const style = document.createElement("style");
  style.textContent = `
    #video-state { position: absolute; left: 50%; top: 40%; transform: translate(-50%, -50%);
      max-width: 80%; padding: 12px 18px; border-radius: 14px; background: rgba(0,0,0,.6);
      color: #fff; text-align: center; font-weight: 600; }
    #video-state[hidden] { display: none; }
    #video-state .spin { display: inline-block; width: 14px; height: 14px; margin-right: 8px;
      border: 2px solid rgba(255,255,255,.35); border-top-color: #fff; border-radius: 50%;
      vertical-align: -2px; animation: video-spin 0.9s linear infinite; }
    @keyframes video-spin { to { transform: rotate(360deg); } }
    #unmute svg { width: 18px; height: 18px; margin-right: 6px; }
    #unmute { position: absolute; right: 12px; top: calc(var(--topbar-h, 56px) + 64px); z-index: 5;
      background: rgba(0,0,0,.6); color: #fff; border: 1px solid rgba(255,255,255,.3); }
    .tier-badge { position: absolute; left: 12px; top: calc(var(--topbar-h, 56px) + 68px); z-index: 4;
      padding: 3px 9px; border-radius: 999px; background: rgba(0,0,0,.55); color: rgba(255,255,255,.9);
      font-size: 12px; font-weight: 600; letter-spacing: .01em; pointer-events: auto; }
    .tier-badge[hidden] { display: none; }
  `;
  document.head.append(style);
}

/** The video's state: data-video-state on the player and, for connection states, the box. */
export function show(kind, text) {
  player.dataset.videoState = kind;
  const settled = kind === "ended" || kind === "banned"; // nothing is on its way: no spinner
  replaceChildren(box, text && !settled ? el("span", { class: "spin" }) : null, text || "");
  // The page shell already explains "not started", "reconnecting" and "ended" in
  // #state-message; this box only speaks when that one is silent (connection states).
  const shell = document.getElementById("state-message");
  box.hidden = !text || Boolean(shell && !shell.hidden);
}
