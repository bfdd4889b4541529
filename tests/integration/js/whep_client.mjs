// An independent WHEP viewer: the `whip-whep` npm client (Medooze's WHEPClient) on werift's
// RTCPeerConnection (WebRTC in TypeScript, no browser). It POSTs its offer to URL, follows
// a 307 as fetch does, and counts the RTP packets and VP8 keyframes it receives; prints one
// JSON line. Usage: node whep_client.mjs URL [SECONDS]
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, "../../../web_client/node_modules/");
const require = createRequire(modules);
const { RTCPeerConnection } = require("werift");
const { WHEPClient } = await import(pathToFileURL(path.join(modules, "whip-whep/whep.js")).href);

const [url, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 6);
const seen = { video: 0, audio: 0, keyframes: 0, redirected: false, resource: null, errors: [] };

// test traffic stays on 127.0.0.1 (the server under test announces loopback candidates only)
const pc = new RTCPeerConnection({
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceInterfaceAddresses: { udp4: "127.0.0.1" },
  iceUseIpv6: false,
});
// whip-whep edits the offer's sdp as a browser allows; werift's description is read-only
const createOffer = pc.createOffer.bind(pc);
pc.createOffer = async (...args) => {
  const offer = await createOffer(...args);
  return { type: offer.type, sdp: offer.sdp };
};
pc.addTransceiver("video", { direction: "recvonly" });
pc.addTransceiver("audio", { direction: "recvonly" });
pc.ontrack = ({ track }) => {
  track.onReceiveRtp.subscribe((rtp) => {
    if (track.kind === "video") {
      seen.video += 1;
      // VP8 payload descriptor (RFC 7741): S bit on a partition start, then P = 0 on a keyframe
      const payload = rtp.payload;
      let i = 1;
      if (payload[0] & 0x80) {
        const x = payload[1];
        i = 2 + (x & 0x80 ? (payload[2] & 0x80 ? 2 : 1) : 0) + (x & 0x40 ? 1 : 0) + (x & 0x30 ? 1 : 0);
      }
      if (payload[0] & 0x10 && (payload[i] & 0x01) === 0) seen.keyframes += 1;
    } else {
      seen.audio += 1;
    }
  });
};

// note where fetch ended up (whip-whep itself only keeps the resource URL)
const fetchOriginal = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const response = await fetchOriginal(input, init);
  if (response.redirected) seen.redirected = true;
  return response;
};

const client = new WHEPClient();
try {
  await client.view(pc, url);
  seen.resource = client.resourceURL.href;
} catch (err) {
  seen.errors.push(String(err.stack || err));
  console.log(JSON.stringify({ ok: false, ...seen }));
  process.exit(1);
}
setTimeout(async () => {
  try {
    await client.stop();
  } catch (err) {
    seen.errors.push(String(err));
  }
  console.log(JSON.stringify({ ok: seen.video > 0 && seen.audio > 0, ...seen }));
  process.exit(0);
}, seconds * 1000);
