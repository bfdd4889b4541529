// Studio stream-key panel: hidden by default, reveal, copy, rotate (with confirmation).

import { api } from "../api.js";
import { busy, confirmAction, copyText, icon, replaceChildren, toast } from "../ui.js";

const MASK = "••••••••••••••••••••";

let sessionId = null;
let streamKey = null; // {stream_key, whip_url} once fetched for sessionId

function render() {
  const box = document.getElementById("stream-key-box");
  const revealed = Boolean(streamKey) && box.dataset.revealed === "true";
  box.classList.toggle("is-hidden", !revealed);
  document.getElementById("stream-key").textContent = revealed ? streamKey.stream_key : MASK;
  const reveal = document.getElementById("stream-key-reveal");
  replaceChildren(reveal, icon(revealed ? "eyeOff" : "eye"));
  reveal.setAttribute("aria-label", revealed ? "Hide stream key" : "Reveal stream key");
  replaceChildren(document.getElementById("stream-key-copy"), icon("copy"));
  replaceChildren(document.getElementById("whip-url-copy"), icon("copy"));
  const whip = streamKey ? streamKey.whip_url : `/whip/${sessionId}`;
  document.getElementById("whip-url").textContent = new URL(whip, location.origin).href;
}

async function fetchKey() {
  if (!streamKey) streamKey = await api(`/api/sessions/${sessionId}/stream-key`);
  return streamKey;
}

async function toggleReveal() {
  const box = document.getElementById("stream-key-box");
  try {
    await fetchKey();
    box.dataset.revealed = box.dataset.revealed === "true" ? "false" : "true";
    render();
  } catch (err) {
    toast(err.message, "error");
  }
}

async function rotate() {
  const ok = await confirmAction({
    title: "Rotate the stream key?",
    text: "The old key stops working right away. Encoders using it must be updated.",
    confirmLabel: "Rotate key",
    danger: true,
  });
  if (!ok) return;
  try {
    streamKey = await busy(document.getElementById("stream-key-rotate"), () =>
      api(`/api/sessions/${sessionId}/stream-key/rotate`, { method: "POST" }),
    );
    render();
    toast("New stream key created", "success");
  } catch (err) {
    toast(err.message, "error");
  }
}

/** Show the (masked) panel for a session; the key itself is only fetched on reveal or copy. */
export function showStreamKey(id) {
  if (id !== sessionId) {
    sessionId = id;
    streamKey = null;
    document.getElementById("stream-key-box").dataset.revealed = "false";
  }
  render();
}

/** Attach the panel's buttons (once per page). */
export function wireStreamKey() {
  document.getElementById("stream-key-reveal").addEventListener("click", toggleReveal);
  document.getElementById("stream-key-copy").addEventListener("click", async () => {
    try {
      copyText((await fetchKey()).stream_key, "Stream key copied");
    } catch (err) {
      toast(err.message, "error");
    }
  });
  document.getElementById("whip-url-copy").addEventListener("click", () =>
    copyText(document.getElementById("whip-url").textContent, "WHIP URL copied"),
  );
  document.getElementById("stream-key-rotate").addEventListener("click", rotate);
}
