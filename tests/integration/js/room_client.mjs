// A viewer written with the official socket.io-client: joins a session's room, chats,
// reacts, and prints what it saw as one JSON line. Usage: node room_client.mjs URL TOKEN SESSION
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../../web_client/node_modules/"));
const { io } = require("socket.io-client");

const [url, token, sessionArg] = process.argv.slice(2);
const sessionId = Number(sessionArg);
const seen = { messages: [], hearts: 0, ticks: 0, errors: [] };
const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
const fail = (why) => {
  console.log(JSON.stringify({ ok: false, why, seen }));
  process.exit(1);
};
setTimeout(() => fail("timeout"), 15000);

socket.on("connect_error", (err) => fail(`connect_error: ${err.message}`));
socket.on("chat:message", (m) => seen.messages.push(m.text));
socket.on("room:tick", (t) => {
  seen.ticks += 1;
  seen.hearts += (t.reactions && t.reactions.heart) || 0;
  if (seen.hearts >= 7 && seen.messages.includes("from node")) finish();
});

let done = false;
function finish() {
  if (done) return;
  done = true;
  socket.disconnect();
  console.log(JSON.stringify({ ok: true, seen }));
  process.exit(0);
}

socket.on("connect", async () => {
  const join = await socket.emitWithAck("room:join", { session_id: sessionId });
  if (!join.ok) fail(`join: ${JSON.stringify(join)}`);
  seen.snapshot_messages = join.snapshot.messages.map((m) => m.text);
  const bad = await socket.emitWithAck("chat:send", { session_id: "nope", text: 5 });
  seen.errors.push(bad.error && bad.error.code);
  const sent = await socket.emitWithAck("chat:send", { session_id: sessionId, text: "from node" });
  if (!sent.ok) fail(`send: ${JSON.stringify(sent)}`);
  const reacted = await socket.emitWithAck("reaction:send", { session_id: sessionId, kind: "heart", count: 7 });
  if (!reacted.ok) fail(`react: ${JSON.stringify(reacted)}`);
});
