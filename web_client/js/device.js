// This browser's device key: a random id kept in localStorage, sent with the room's
// handshake (auth.viewer_key), with WHEP and with analytics events (X-Viewer-Key), so an
// anonymous viewer's room socket and video count as one viewer ("Who is watching" in
// docs/realtime.md). Signed-in viewers are counted by their account; the key is ignored.

const KEY = "liveshop.device";
let fallback = null; // storage refused (private mode): one key for this page

function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The device key (created on first use). */
export function deviceKey() {
  try {
    let key = localStorage.getItem(KEY);
    if (!key) {
      key = newKey();
      localStorage.setItem(KEY, key);
    }
    return key;
  } catch {
    fallback ||= newKey();
    return fallback;
  }
}
