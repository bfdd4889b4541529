// The live room's Socket.IO connection, shared by the watch page, the studio and the
// moderator console. Event names and payloads: docs/realtime.md.
//
//   const room = openRoom(sessionId, { onSnapshot(snapshot) {}, on: { "chat:message": fn } });
//   const ack = await room.call("chat:send", { session_id, text });  // {ok} or {error}

import { io } from "/vendor/socket.io-client/socket.io.esm.min.js";
import { getToken } from "../api.js";
import { deviceKey } from "../device.js";

/**
 * Connect and join a session's room. Rejoins (and calls onSnapshot again) after every
 * reconnection, so the page always starts from a fresh snapshot.
 */
export function openRoom(sessionId, { onSnapshot, onError, on = {} } = {}) {
  const token = getToken();
  const socket = io({
    path: "/socket.io/",
    transports: ["websocket", "polling"],
    // the device key makes this socket and the page's video one viewer (docs/realtime.md)
    auth: token ? { token, viewer_key: deviceKey() } : { viewer_key: deviceKey() },
    reconnectionDelayMax: 8000,
  });
  for (const [event, handler] of Object.entries(on)) socket.on(event, handler);

  const call = async (event, payload, timeout = 8000) => {
    try {
      return await socket.timeout(timeout).emitWithAck(event, payload);
    } catch {
      return { error: { code: "timeout", message: "No answer from the server. Check your connection." } };
    }
  };

  socket.on("connect", async () => {
    const ack = await call("room:join", { session_id: sessionId });
    if (ack.ok) onSnapshot?.(ack.snapshot);
    else onError?.(ack.error);
  });
  socket.on("connect_error", (err) => {
    const data = err && err.data;
    if (data && data.code === "unauthorized") {
      // A stale token: continue as an anonymous viewer.
      socket.auth = { viewer_key: deviceKey() };
    }
  });
  return { socket, call, sessionId, close: () => socket.disconnect() };
}

/** The human-readable reason of a refused event. */
export function reason(ack) {
  return (ack && ack.error && ack.error.message) || "Something went wrong";
}
