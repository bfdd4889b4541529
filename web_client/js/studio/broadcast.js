// Host studio, broadcast card: camera + microphone preview with device pickers,
// Go live / End over WHIP (RFC 9725), a live indicator with viewer count (per video tier,
// from the room: "N watching · X real-time · Y standard latency") and elapsed time, the
// outgoing bitrate / resolution / codec, and who gets real-time video (the show's
// front_row). Lives in studio.html's #broadcast-slot.
//
// The camera is sent as H.264 (constrained baseline, packetization-mode=1) when the
// browser can encode it: the standard-latency tier (LL-HLS) then only repackages the
// host's frames; a VP8 host costs the server one transcode per show.
//
// Simulcast: the camera goes out as three layers (rids "h" full size, "m" half, "l" a
// quarter, each with its own bitrate cap) on one m-line; the server forwards the top one.
// A browser that refuses the encodings, or a server that refuses the offer's simulcast
// lines (400), gets one stream as before.

import { ApiError, api } from "../api.js";
import { onSessionSelected, refreshSession } from "../pages/studio.js";
import { badge, confirmAction, el, replaceChildren, toast } from "../ui.js";
import { preferH264 } from "./codecs.js";
import { frontRowControl } from "./front-row.js";

const MAX_BITRATE = 1_500_000; // the top (or only) layer: keep it sane
// high to low; the browser sends only the layers the camera's size allows
const LAYERS = [
  { rid: "h", maxBitrate: MAX_BITRATE },
  { rid: "m", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "l", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
];
const GATHER_TIMEOUT_MS = 3000;
const POLL_MS = 2000;

const state = {
  session: null,
  stream: null,
  pc: null,
  resource: null, // WHIP resource URL
  key: null,
  liveSince: null, // performance.now() at go-live, adjusted from the server's media time
  timers: [],
  lastBytes: null,
  ending: false,
  retrying: false,
  publisher: "closed", // connecting / connected / reconnecting / closed
  presence: null, // the room's presence for the selected session (studio/room.js)
};

const ui = {};

function render(slot) {
  ui.video = el("video", { id: "broadcast-preview", muted: true, playsinline: true, autoplay: true });
  ui.video.muted = true;
  ui.onAir = el("div", { class: "on-air", id: "broadcast-status", hidden: true });
  ui.camera = el("select", { id: "broadcast-camera", "aria-label": "Camera" });
  ui.mic = el("select", { id: "broadcast-mic", "aria-label": "Microphone" });
  ui.start = el("button", { type: "button", class: "btn btn-primary", id: "broadcast-start" }, "Go live");
  ui.stop = el("button", { type: "button", class: "btn btn-danger btn-small", id: "broadcast-stop", hidden: true }, "End show");
  ui.message = el("p", { class: "muted small", id: "broadcast-message", role: "status" });
  ui.stats = el("p", { class: "muted small stats", id: "broadcast-stats" });
  ui.frontRow = frontRowControl();
  ui.card = el(
    "div",
    { class: "card", id: "broadcast-card" },
    el("h3", { class: "card-title" }, "Camera"),
    el("div", { class: "preview" }, ui.video, ui.onAir),
    el(
      "div",
      { class: "devices" },
      el("label", { class: "field" }, el("span", {}, "Camera"), ui.camera),
      el("label", { class: "field" }, el("span", {}, "Microphone"), ui.mic),
    ),
    el("div", { class: "actions" }, ui.start, ui.stop),
    ui.message,
    ui.stats,
    ui.frontRow.element,
  );
  replaceChildren(slot, ui.card);
  // the show's one End button sits in the studio's header, beside the state badge
  (document.getElementById("detail-actions") ?? ui.card.querySelector(".actions")).append(ui.stop);
  ui.start.addEventListener("click", () => goLive());
  ui.stop.addEventListener("click", () => endBroadcast());
  ui.camera.addEventListener("change", () => switchDevices());
  ui.mic.addEventListener("change", () => switchDevices());
}

function say(text) {
  ui.message.textContent = text;
}

/** Tells the studio (header badge, console) what this page's WHIP connection is doing. */
function announce(name, detail) {
  document.dispatchEvent(new CustomEvent(name, { detail: { sessionId: state.session?.id, ...detail } }));
}

function publisherState(value) {
  state.publisher = value;
  announce("liveshop:publisher", { state: value });
}

// ---------- devices ----------

async function openDevices() {
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
  if (ui.camera.value) video.deviceId = { exact: ui.camera.value };
  const audio = ui.mic.value ? { deviceId: { exact: ui.mic.value } } : true;
  const stream = await navigator.mediaDevices.getUserMedia({ video, audio });
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = stream;
  ui.video.srcObject = stream;
  await listDevices();
  return stream;
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (select, kind, label) => {
    const current = state.stream?.getTracks().find((t) => t.kind === (kind === "videoinput" ? "video" : "audio"));
    const activeId = current?.getSettings().deviceId ?? select.value;
    const options = devices
      .filter((d) => d.kind === kind)
      .map((d, i) => el("option", { value: d.deviceId }, d.label || `${label} ${i + 1}`));
    replaceChildren(select, options);
    if (activeId) select.value = activeId;
  };
  fill(ui.camera, "videoinput", "Camera");
  fill(ui.mic, "audioinput", "Microphone");
}

async function switchDevices() {
  try {
    const stream = await openDevices();
    if (state.pc) {
      for (const sender of state.pc.getSenders()) {
        const track = stream.getTracks().find((t) => t.kind === sender.track?.kind);
        if (track) await sender.replaceTrack(track);
      }
    }
  } catch (err) {
    say(`Could not open that device: ${err.message}`);
  }
}

// ---------- WHIP ----------

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

/** Adds the camera as simulcast layers, or as one stream when the browser refuses them;
 * returns whether the offer asks for simulcast. */
function addCamera(pc, track, simulcast) {
  const init = { direction: "sendonly", streams: [state.stream] };
  let transceiver = null;
  if (simulcast) {
    try {
      transceiver = pc.addTransceiver(track, { ...init, sendEncodings: LAYERS });
    } catch {
      transceiver = null; // e.g. an encoder without simulcast: one stream below
    }
  }
  transceiver ??= pc.addTransceiver(track, { ...init, sendEncodings: [{ maxBitrate: MAX_BITRATE }] });
  ui.stats.dataset.preferred = preferH264(transceiver);
  return (transceiver.sender.getParameters().encodings ?? []).length > 1;
}

async function publish(simulcast = true) {
  const session = state.session;
  const pc = new RTCPeerConnection();
  let layered = false;
  for (const track of state.stream.getTracks()) {
    if (track.kind === "video") layered = addCamera(pc, track, simulcast);
    else pc.addTransceiver(track, { direction: "sendonly", streams: [state.stream] });
  }
  const offer = await pc.createOffer();
  layered &&= /^a=simulcast:/m.test(offer.sdp);
  ui.stats.dataset.layers = layered ? String(LAYERS.length) : "1";
  await pc.setLocalDescription(offer);
  await gathered(pc);
  const response = await fetch(`/whip/${session.id}`, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${state.key}` },
    body: pc.localDescription.sdp,
  });
  if (response.status === 400 && layered) {
    // a server (or proxy) that cannot take simulcast: go live with one stream instead
    pc.close();
    return publish(false);
  }
  if (response.status !== 201) {
    pc.close();
    let message = `WHIP answered ${response.status}`;
    try {
      message = (await response.json()).error.message;
    } catch {
      /* keep the status text */
    }
    throw new ApiError(response.status, "whip", message);
  }
  const answer = await response.text();
  const resource = new URL(response.headers.get("Location"), location.href).toString();
  if (state.ending) {
    // the host pressed End while this (re)connect was under way: let this publisher go too
    pc.close();
    await fetch(resource, { method: "DELETE", headers: { Authorization: `Bearer ${state.key}` } }).catch(() => null);
    return;
  }
  state.resource = resource;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  pc.addEventListener("connectionstatechange", () => onConnectionState(pc));
  state.pc = pc;
}

function onConnectionState(pc) {
  if (pc !== state.pc || state.ending) return;
  if (pc.connectionState === "connected") {
    say("You are live.");
    publisherState("connected");
    refreshSession().catch(() => null);
  } else if (pc.connectionState === "failed" || pc.connectionState === "disconnected" || pc.connectionState === "closed") {
    say("Connection lost, reconnecting…");
    publisherState("reconnecting");
    reconnect();
  }
}

async function reconnect() {
  if (state.retrying) return;
  state.retrying = true;
  try {
    for (let attempt = 0; attempt < 10 && !state.ending; attempt += 1) {
      await new Promise((r) => setTimeout(r, 1500));
      if (state.pc?.connectionState === "connected") return;
      try {
        state.pc?.close();
        state.pc = null;
        // the key may have been rotated (which drops the publisher): ask for the current one
        state.key = (await api(`/api/sessions/${state.session.id}/stream-key`)).stream_key;
        await publish();
        say("Reconnected.");
        return;
      } catch (err) {
        if (err instanceof ApiError && err.status !== 409 && err.status < 500 && err.status !== 0) {
          say(`Cannot reconnect: ${err.message}`);
          break;
        }
      }
    }
  } finally {
    state.retrying = false;
  }
}

async function goLive() {
  const session = state.session;
  if (!session) return;
  ui.start.disabled = true;
  say("Going live…");
  try {
    if (!state.stream) await openDevices();
    const keyInfo = await api(`/api/sessions/${session.id}/stream-key`);
    state.key = keyInfo.stream_key;
    state.ending = false;
    publisherState("connecting");
    await publish();
    startTimers();
    showLive(true);
  } catch (err) {
    say(`Could not go live: ${err.message}`);
    toast(err.message, "error");
    ui.start.disabled = false;
    publisherState("closed");
  }
}

async function endBroadcast() {
  const ok = await confirmAction({
    title: "End the broadcast?",
    text: "Viewers will see that the show has ended. This cannot be undone.",
    confirmLabel: "End broadcast",
    danger: true,
  });
  if (!ok) return;
  state.ending = true;
  ui.stop.disabled = true;
  say("Ending the broadcast…");
  try {
    // The WHIP DELETE ends the show. If this page's resource is not the live one any more
    // (a reconnect raced the click) or the request failed, the show is ended by its id.
    const response = state.resource
      ? await fetch(state.resource, { method: "DELETE", headers: { Authorization: `Bearer ${state.key}` } }).catch(() => null)
      : null;
    if (!response?.ok) await api(`/api/sessions/${state.session.id}/end`, { method: "POST" }).catch(() => null);
  } finally {
    teardown({ ended: true });
    say("The broadcast has ended.");
    await refreshSession().catch(() => null);
  }
}

function teardown({ ended = false } = {}) {
  state.pc?.close();
  state.pc = null;
  state.resource = null;
  state.liveSince = null;
  state.lastBytes = null;
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  showLive(false);
  // an ended show cannot go live again: no "Go live" while the studio catches up
  if (ended) ui.start.hidden = true;
  if (state.publisher !== "closed") publisherState("closed");
}

// ---------- live indicator and stats ----------

function showLive(live) {
  ui.start.hidden = live;
  ui.start.disabled = false;
  ui.stop.hidden = !live;
  ui.stop.disabled = false;
  ui.onAir.hidden = !live;
  ui.camera.disabled = false;
  if (!live) ui.stats.textContent = "";
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function watchingText() {
  const presence = state.presence;
  // one count everywhere: the room's presence (docs/realtime.md); nothing else stands in
  if (!presence) return "– watching";
  const tiers = presence.tiers ?? {};
  const parts = [`${presence.viewers.toLocaleString()} watching`];
  if (tiers.webrtc || tiers.hls) {
    parts.push(`${(tiers.webrtc ?? 0).toLocaleString()} real-time`, `${(tiers.hls ?? 0).toLocaleString()} standard latency`);
  }
  return parts.join(" · ");
}

document.addEventListener("liveshop:presence", (event) => {
  const { sessionId, presence } = event.detail ?? {};
  if (!state.session || sessionId !== state.session.id || !presence) return;
  state.presence = presence;
  const pill = document.getElementById("broadcast-viewers");
  if (pill) pill.textContent = watchingText();
});

function startTimers() {
  state.timers.push(setInterval(pollServer, POLL_MS), setInterval(readStats, 1000));
  pollServer();
}

async function pollServer() {
  const session = state.session;
  if (!session) return;
  try {
    const info = await api(`/api/sessions/${session.id}/broadcast`);
    if (typeof info.media_time === "number") state.liveSince = performance.now() - info.media_time * 1000;
    const elapsed = state.liveSince === null ? 0 : (performance.now() - state.liveSince) / 1000;
    replaceChildren(
      ui.onAir,
      badge(info.state === "reconnecting" || (info.state === "live" && state.publisher === "reconnecting") ? "reconnecting" : info.state === "live" ? "live" : "upcoming"),
      el("span", { class: "pill", id: "broadcast-elapsed" }, clock(elapsed)),
      el("span", { class: "pill", id: "broadcast-viewers" }, watchingText()),
    );
    ui.onAir.dataset.state = info.state;
    announce("liveshop:broadcast-info", { state: info.state, mediaTime: info.media_time ?? null });
    if (info.state === "ended" && !state.ending) {
      teardown({ ended: true });
      say("The session has ended.");
      refreshSession().catch(() => null);
    }
  } catch {
    /* transient: try again on the next tick */
  }
}

async function readStats() {
  const pc = state.pc;
  if (!pc) return;
  // the on-air clock ticks every second (the poll only re-anchors it to the media time)
  const elapsedPill = document.getElementById("broadcast-elapsed");
  if (elapsedPill && state.liveSince !== null) elapsedPill.textContent = clock((performance.now() - state.liveSince) / 1000);
  const report = await pc.getStats();
  // one outbound-rtp per simulcast layer: the bitrate is their sum, the size the largest's
  const layers = [...report.values()].filter((s) => s.type === "outbound-rtp" && s.kind === "video");
  if (!layers.length) return;
  const top = layers.reduce((a, b) => ((b.frameWidth ?? 0) > (a.frameWidth ?? 0) ? b : a));
  const bytes = layers.reduce((sum, s) => sum + (s.bytesSent ?? 0), 0);
  const now = top.timestamp;
  let kbps = 0;
  if (state.lastBytes && state.lastBytes.layers === layers.length) {
    kbps = ((bytes - state.lastBytes.bytes) * 8) / (now - state.lastBytes.at);
  }
  state.lastBytes = { bytes, at: now, layers: layers.length };
  const sending = layers.filter((s) => s.frameWidth).length;
  const size = top.frameWidth ? `${top.frameWidth}×${top.frameHeight}` : "–";
  const fps = top.framesPerSecond ? ` · ${Math.round(top.framesPerSecond)} fps` : "";
  const codec = (report.get(top.codecId)?.mimeType ?? "").replace(/^video\//i, "");
  const layerText = layers.length > 1 ? ` · ${sending} of ${layers.length} layers` : "";
  ui.stats.textContent = `${size}${fps} · ${Math.round(kbps)} kbit/s${codec ? ` · ${codec}` : ""}${layerText}`;
  ui.stats.dataset.codec = codec;
  ui.stats.dataset.kbps = String(Math.round(kbps));
  ui.stats.dataset.width = String(top.frameWidth ?? 0);
  ui.stats.dataset.sending = String(sending);
  announce("liveshop:broadcast-stats", { kbps: Math.round(kbps), width: top.frameWidth ?? 0, height: top.frameHeight ?? 0, codec, layers: sending });
}

// ---------- session selection ----------

async function onSession(session) {
  const slot = document.getElementById("broadcast-slot");
  if (!slot) return;
  if (!ui.card) render(slot);
  const changed = state.session?.id !== session?.id;
  state.session = session;
  if (changed) state.presence = null;
  ui.frontRow.show(session);
  if (!session || session.state === "ended") {
    if (state.pc && changed) teardown();
    ui.card.hidden = !state.pc;
    return;
  }
  ui.card.hidden = false;
  if (changed && state.pc) teardown();
  // live from an encoder already: this camera would take over from it
  ui.start.textContent = session.state === "scheduled" ? "Go live" : "Go live from this camera";
  if (!state.stream) {
    say("Allow the camera and microphone to preview your show.");
    try {
      await openDevices();
      say(session.state === "scheduled" ? "Ready when you are." : "");
    } catch (err) {
      say(`Camera unavailable: ${err.message}`);
    }
  }
}

onSessionSelected((session) => {
  onSession(session);
});

window.addEventListener("pagehide", () => {
  // A closed tab is a dropped host: the server keeps the show in "reconnecting" for the
  // grace period. Only the End button ends it.
  state.pc?.close();
});
