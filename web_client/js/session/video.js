// Session page: the host's live video in <video id="player">, on one of two tiers.
//
// Real time first: WebRTC over WHEP. The page moves to the standard-latency tier (LL-HLS,
// hls-player.js) when WHEP says so (503 webrtc_full / front_row_full), when the peer
// connection fails or does not connect within CONNECT_TIMEOUT_MS (UDP blocked), when WHEP
// cannot be reached (a redirect chain that never ends) or keeps failing. The switch keeps
// the page, the <video> element and its muted state; chat, cards and buying go on.
// Autoplays muted with a tap-to-unmute button; shows "waiting for host" until the host is
// live (the page asks WHEP only once the show is live; WHEP answers 409 before that) and
// "host reconnecting" while the host is away.
//
// While on LL-HLS the page tries WebRTC again only for a reason: a refusal for capacity
// (the front row or the node was full) is asked again after the server's Retry-After,
// then less and less often (a seat may free up); a connection that could not get through
// is tried again only when the browser comes back online. The attempt runs beside the
// playing stream and takes the picture over only once its connection is up.

import { getToken } from "../api.js";
import { deviceKey } from "../device.js";
import { ready, setSessionState } from "../pages/session.js";
import { HlsPlayer, canPlayHls } from "./hls-player.js";
import { setPlayback } from "./playback.js";
import { qualityToggle, setQualityResource } from "./quality.js";
import { box, injectStyles, show, tierBadge, unmute } from "./stage.js";

const GATHER_TIMEOUT_MS = 3000;
const CONNECT_TIMEOUT_MS = 5000;
const RETRY_MS = 2000;
const STALL_MS = 2500;
const POLL_MS = 4000;
const WHEP_FAILURES_BEFORE_HLS = 3;
const UPGRADE_MIN_S = 15;
const UPGRADE_MAX_S = 300;
const END_GRACE_MS = 15_000; // on LL-HLS, the picture's last seconds after the room says "ended"
const CAPACITY = new Set(["webrtc_full", "front_row_full"]);

const player = document.getElementById("player");
const overlay = document.getElementById("stage-overlay");

const state = {
  sessionId: null,
  sessionState: null,
  hlsUrl: null,
  tier: null, // "webrtc" | "hls" once something plays
  pc: null,
  resource: null,
  connecting: false,
  retryTimer: null,
  lastTime: 0,
  lastProgressAt: 0,
  whepFailures: 0,
  hls: null,
  hlsReason: null, // why the page is on LL-HLS: "capacity" | "network" | "unavailable"
  upgradeTimer: null,
  upgradeDelayS: UPGRADE_MIN_S,
  endTimer: null,
  banned: false, // the show's moderators removed this viewer: nothing plays, nothing retries
};

const BANNED_TEXT = "You can't watch this show. Its moderators removed you from it.";

function setTier(tier) {
  state.tier = tier;
  player.dataset.tier = tier ?? "";
  tierBadge.hidden = tier !== "hls";
  const hls = state.hls;
  setPlayback(
    tier === "hls" && hls ? { tier, mediaTime: () => hls.mediaTime(), epochMs: hls.epochMs } : { tier },
  );
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

async function errorCode(response, fallback) {
  try {
    return (await response.json()).error.code ?? fallback;
  } catch {
    return fallback;
  }
}

/**
 * One WHEP attempt. In the foreground it owns the player; in the background (`upgrade`,
 * while LL-HLS plays) it takes the picture over only once its connection is up, and a
 * failure leaves the LL-HLS stream playing.
 */
async function connect({ upgrade = false } = {}) {
  if (state.connecting || state.pc || state.sessionState === "ended" || state.banned) return;
  if (!upgrade && state.hls) return;
  state.connecting = true;
  const pc = new RTCPeerConnection();
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    const attach = () => {
      if (player.srcObject !== stream) player.srcObject = stream;
      player.play().catch(() => {});
    };
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      if (!upgrade) attach();
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const headers = { "Content-Type": "application/sdp" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    headers["X-Viewer-Key"] = deviceKey(); // with the room socket: one viewer (docs/realtime.md)
    let response;
    try {
      response = await fetch(`/whep/${state.sessionId}`, { method: "POST", headers, body: pc.localDescription.sdp });
    } catch {
      // no answer at all: offline, or a chain of redirects that never ends
      pc.close();
      whepFailed(upgrade, "network");
      return;
    }
    if (response.status === 403) {
      pc.close();
      if ((await errorCode(response, "forbidden")) === "banned") setBanned();
      else whepFailed(upgrade, "unavailable");
      return;
    }
    if (response.status === 409) {
      pc.close();
      const code = await errorCode(response, "not_live");
      if (code === "session_ended") {
        setSessionState("ended");
      } else if (!upgrade) {
        show("waiting", "Waiting for the host to go live…");
        // a show that has not started is asked again when the room says it went live
        if (state.sessionState !== "scheduled") scheduleRetry();
      }
      return;
    }
    if (response.status === 503) {
      pc.close();
      const code = await errorCode(response, "unavailable");
      const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
      if (CAPACITY.has(code)) {
        if (upgrade) scheduleUpgrade(state.upgradeDelayS * 2);
        else fallBack("capacity", Number.isFinite(retryAfter) ? retryAfter : UPGRADE_MIN_S);
        return;
      }
      whepFailed(upgrade, "unavailable");
      return;
    }
    if (response.status !== 201) {
      pc.close();
      if (response.status === 401 && !upgrade) {
        show("error", "Log in to watch this private show.");
        return;
      }
      whepFailed(upgrade, "unavailable");
      return;
    }
    state.resource = new URL(response.headers.get("Location"), location.href).toString();
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    let connected = false;
    const deadline = setTimeout(() => {
      if (pc !== state.pc || connected) return;
      dropConnection(); // UDP blocked, or the server's media unreachable from here
      whepFailed(upgrade, "network");
    }, CONNECT_TIMEOUT_MS);
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== state.pc) return;
      if (pc.connectionState === "connected" && !connected) {
        connected = true;
        clearTimeout(deadline);
        state.whepFailures = 0;
        if (upgrade) leaveHls();
        attach();
        setTier("webrtc");
        setQualityResource(state.resource);
      } else if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        clearTimeout(deadline);
        dropConnection();
        if (state.sessionState === "ended") return;
        if (connected) scheduleRetry(); // it worked before: the network or the server blinked
        else whepFailed(upgrade, "network");
      }
    });
    state.pc = pc;
    if (!upgrade) {
      state.lastProgressAt = performance.now();
      show("connecting", "Connecting…");
    }
  } catch (err) {
    pc.close();
    whepFailed(upgrade, "unavailable");
  } finally {
    state.connecting = false;
  }
}

function whepFailed(upgrade, reason) {
  if (upgrade) {
    // stay on LL-HLS; a refusal for capacity keeps its schedule, anything else stops it
    if (state.hlsReason === "capacity") scheduleUpgrade(state.upgradeDelayS * 2);
    return;
  }
  state.whepFailures += 1;
  if (reason === "network" || state.whepFailures >= WHEP_FAILURES_BEFORE_HLS) {
    if (fallBack(reason)) return;
  }
  show("error", "The video is unavailable right now. Retrying…");
  scheduleRetry(RETRY_MS * 2);
}

/** Moves to LL-HLS; false when this show or browser has no LL-HLS to move to. */
function fallBack(reason, retryAfterS = null) {
  if (!state.hlsUrl || !canPlayHls(player)) {
    if (reason === "capacity") {
      show("error", "Real-time video is full for this show. Retrying…");
      scheduleRetry(Math.max(RETRY_MS, (retryAfterS ?? UPGRADE_MIN_S) * 1000));
      return true;
    }
    return false;
  }
  clearTimeout(state.retryTimer);
  state.hlsReason = reason;
  startHls();
  if (reason === "capacity") {
    state.upgradeDelayS = Math.max(UPGRADE_MIN_S, retryAfterS ?? UPGRADE_MIN_S);
    scheduleUpgrade(state.upgradeDelayS);
  }
  return true;
}

function startHls() {
  if (state.hls) return;
  player.srcObject = null;
  state.lastProgressAt = performance.now();
  show("connecting", "Connecting…");
  const hls = new HlsPlayer(player, {
    sessionId: state.sessionId,
    url: state.hlsUrl,
    onEnded: () => setSessionState("ended"),
    onTrouble: (message) => show("reconnecting", message),
    onEpoch: () => {
      if (state.hls === hls) setTier("hls"); // hand the page its media-time mapping
    },
  });
  state.hls = hls;
  setTier("hls");
  hls.start().catch(() => show("error", "The video is unavailable right now."));
}

function leaveHls() {
  clearTimeout(state.upgradeTimer);
  state.hls?.stop();
  state.hls = null;
  state.hlsReason = null;
}

function scheduleUpgrade(delayS) {
  clearTimeout(state.upgradeTimer);
  state.upgradeDelayS = Math.min(UPGRADE_MAX_S, Math.max(UPGRADE_MIN_S, delayS));
  const jitter = 0.8 + Math.random() * 0.4; // a full front row is not asked by everyone at once
  state.upgradeTimer = setTimeout(() => {
    if (state.hls && !document.hidden) connect({ upgrade: true });
    else if (state.hls) scheduleUpgrade(state.upgradeDelayS);
  }, state.upgradeDelayS * 1000 * jitter);
}

function dropConnection() {
  const resource = state.resource;
  state.pc?.close();
  state.pc = null;
  state.resource = null;
  setQualityResource(null);
  if (resource) fetch(resource, { method: "DELETE", keepalive: true }).catch(() => {});
}

/** Banned from the show (WHEP refused, or the room said so): the picture stops for good. */
function setBanned() {
  state.banned = true;
  clearTimeout(state.retryTimer);
  clearTimeout(state.upgradeTimer);
  clearTimeout(state.endTimer);
  dropConnection();
  leaveHls();
  player.pause();
  player.srcObject = null;
  show("banned", BANNED_TEXT);
  unmute.hidden = true;
  tierBadge.hidden = true;
}

function setEnded() {
  clearTimeout(state.retryTimer);
  clearTimeout(state.endTimer);
  dropConnection();
  leaveHls();
  state.sessionState = "ended";
  show("ended", "This show has ended.");
  unmute.hidden = true;
  tierBadge.hidden = true;
}

// Playback watchdog: frames flowing => playing; a stall while connected => the host is
// reconnecting (or the network is); the session state tells which.
function watch() {
  // Once the show has ended, a last buffered frame must not flip the state back to playing.
  if (state.sessionState === "ended" || state.banned) return;
  const now = performance.now();
  if (player.currentTime !== state.lastTime) {
    state.lastTime = player.currentTime;
    state.lastProgressAt = now;
    if (player.videoWidth > 0) {
      show("playing", "");
      unmute.hidden = !player.muted;
    }
  } else if ((state.pc || state.hls) && now - state.lastProgressAt > STALL_MS) {
    show("reconnecting", state.sessionState === "reconnecting" ? "The host is reconnecting…" : "Reconnecting…");
  }
}

function onState(newState) {
  const old = state.sessionState;
  state.sessionState = newState;
  if (state.banned) return;
  if (newState === "ended") {
    setEnded();
  } else if (newState === "reconnecting") {
    show("reconnecting", "The host is reconnecting…");
  } else if (newState === "live" && old !== "live" && !state.pc && !state.hls) {
    connect();
  }
}

async function poll() {
  if (!state.sessionId || state.sessionState === "ended") return;
  try {
    const response = await fetch(`/api/sessions/${state.sessionId}/broadcast`);
    if (!response.ok) return;
    const info = await response.json();
    if (info.state === state.sessionState) return;
    if (info.state === "ended" && state.hls) {
      // the LL-HLS picture is seconds behind: let it play to its end (the player's
      // "ended"), for at most END_GRACE_MS
      state.endTimer ??= setTimeout(() => setSessionState("ended"), END_GRACE_MS);
      return;
    }
    // setSessionState updates the page's badge and fires "liveshop:state" -> onState
    setSessionState(info.state);
  } catch {
    /* offline for a moment */
  }
}

async function main() {
  injectStyles();
  overlay.append(box, unmute, tierBadge, qualityToggle);
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
  state.hlsUrl = detail.session.hls_url ?? null;
  document.addEventListener("liveshop:state", (event) => onState(event.detail.state));
  // the room says this viewer was banned (at once, on every node): stop the picture now
  document.addEventListener("liveshop:banned", setBanned);
  window.addEventListener("online", () => {
    if (state.hls && state.hlsReason === "network") connect({ upgrade: true });
  });
  if (state.sessionState === "ended") {
    setEnded();
    return;
  }
  if (state.sessionState === "scheduled") {
    // nothing to play yet: the room's "room:state" (or the poll) starts the video at go-live
    show("waiting", "Waiting for the host to go live…");
  } else {
    show("waiting", "Connecting…");
    connect();
  }
  setInterval(watch, 500);
  setInterval(poll, POLL_MS);
}

window.addEventListener("pagehide", () => {
  dropConnection();
  state.hls?.stop();
});

main();
