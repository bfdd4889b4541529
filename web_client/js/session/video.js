// Session page: the host's live video over WHEP into <video id="player">.
// Autoplays muted with a tap-to-unmute button; shows "waiting for host" until the host
// is live (WHEP answers 409 before that) and "host reconnecting" while the host's
// connection is down (the server keeps viewers connected for the grace period).

import { getToken } from "../api.js";
import { ready, setSessionState } from "../pages/session.js";
import { el, replaceChildren } from "../ui.js";

const GATHER_TIMEOUT_MS = 3000;
const RETRY_MS = 2000;
const STALL_MS = 2500;
const POLL_MS = 4000;

const player = document.getElementById("player");
const overlay = document.getElementById("stage-overlay");

const state = {
  sessionId: null,
  sessionState: null,
  pc: null,
  resource: null,
  connecting: false,
  retryTimer: null,
  lastTime: 0,
  lastProgressAt: 0,
};

const box = el("div", { id: "video-state", role: "status", "aria-live": "polite", hidden: true });
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

const unmute = el(
  "button",
  { type: "button", id: "unmute", class: "btn btn-small", hidden: true, "aria-label": "Tap to unmute" },
  speakerOff(),
  "Tap to unmute",
);

function injectStyles() {
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
  `;
  document.head.append(style);
}

function show(kind, text) {
  player.dataset.videoState = kind;
  replaceChildren(box, text && kind !== "ended" ? el("span", { class: "spin" }) : null, text || "");
  // The page shell already explains "not started", "reconnecting" and "ended" in
  // #state-message; this box only speaks when that one is silent (connection states).
  const shell = document.getElementById("state-message");
  box.hidden = !text || Boolean(shell && !shell.hidden);
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

function scheduleRetry(delay = RETRY_MS) {
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(connect, delay);
}

async function connect() {
  if (state.connecting || state.pc || state.sessionState === "ended") return;
  state.connecting = true;
  const pc = new RTCPeerConnection();
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      if (player.srcObject !== stream) player.srcObject = stream;
      player.play().catch(() => {});
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const headers = { "Content-Type": "application/sdp" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(`/whep/${state.sessionId}`, {
      method: "POST",
      headers,
      body: pc.localDescription.sdp,
    });
    if (response.status === 409) {
      pc.close();
      let code = "not_live";
      try {
        code = (await response.json()).error.code;
      } catch {
        /* plain 409 */
      }
      if (code === "session_ended") {
        setEnded();
      } else {
        show("waiting", "Waiting for the host to go live…");
        scheduleRetry();
      }
      return;
    }
    if (response.status !== 201) {
      pc.close();
      show("error", response.status === 401 ? "Log in to watch this private show." : "The video is unavailable right now. Retrying…");
      if (response.status !== 401) scheduleRetry(RETRY_MS * 2);
      return;
    }
    state.resource = new URL(response.headers.get("Location"), location.href).toString();
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== state.pc) return;
      if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        dropConnection();
        if (state.sessionState !== "ended") scheduleRetry();
      }
    });
    state.pc = pc;
    state.lastProgressAt = performance.now();
    show("connecting", "Connecting…");
  } catch (err) {
    pc.close();
    show("error", "The video is unavailable right now. Retrying…");
    scheduleRetry(RETRY_MS * 2);
  } finally {
    state.connecting = false;
  }
}

function dropConnection() {
  const resource = state.resource;
  state.pc?.close();
  state.pc = null;
  state.resource = null;
  if (resource) fetch(resource, { method: "DELETE", keepalive: true }).catch(() => {});
}

function setEnded() {
  clearTimeout(state.retryTimer);
  dropConnection();
  state.sessionState = "ended";
  show("ended", "This show has ended.");
  unmute.hidden = true;
}

// Playback watchdog: frames flowing => playing; a stall while connected => the host is
// reconnecting (or the network is); the session state tells which.
function watch() {
  // Once the show has ended, a last buffered frame must not flip the state back to playing.
  if (state.sessionState === "ended") return;
  const now = performance.now();
  if (player.currentTime !== state.lastTime) {
    state.lastTime = player.currentTime;
    state.lastProgressAt = now;
    if (player.videoWidth > 0) {
      show("playing", "");
      unmute.hidden = !player.muted;
    }
  } else if (state.pc && now - state.lastProgressAt > STALL_MS) {
    show("reconnecting", state.sessionState === "reconnecting" ? "The host is reconnecting…" : "Reconnecting…");
  }
}

function onState(newState) {
  const old = state.sessionState;
  state.sessionState = newState;
  if (newState === "ended") {
    setEnded();
  } else if (newState === "reconnecting") {
    show("reconnecting", "The host is reconnecting…");
  } else if (newState === "live" && old !== "live" && !state.pc) {
    connect();
  }
}

async function poll() {
  if (!state.sessionId || state.sessionState === "ended") return;
  try {
    const response = await fetch(`/api/sessions/${state.sessionId}/broadcast`);
    if (response.ok) {
      const info = await response.json();
      // setSessionState updates the page's badge and fires "liveshop:state" -> onState
      if (info.state !== state.sessionState) setSessionState(info.state);
    }
  } catch {
    /* offline for a moment */
  }
}

async function main() {
  injectStyles();
  overlay.append(box, unmute);
  player.muted = true;
  unmute.addEventListener("click", () => {
    player.muted = false;
    player.play().catch(() => {});
    unmute.hidden = true;
  });
  const detail = await ready;
  if (!detail) return;
  state.sessionId = detail.session.id;
  state.sessionState = detail.session.state;
  document.addEventListener("liveshop:state", (event) => onState(event.detail.state));
  if (state.sessionState === "ended") {
    setEnded();
    return;
  }
  show("waiting", state.sessionState === "scheduled" ? "Waiting for the host to go live…" : "Connecting…");
  connect();
  setInterval(watch, 500);
  setInterval(poll, POLL_MS);
}

window.addEventListener("pagehide", () => dropConnection());

main();
