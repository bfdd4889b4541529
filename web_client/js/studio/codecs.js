// The host's video codec: H.264 when the browser can encode it, so that the show's
// standard-latency tier (LL-HLS) only repackages the host's frames. VP8 (the browser's
// default) costs the server one transcode per show.

/** H.264 constrained baseline (profile-iop with constraint_set1) in packetization mode 1. */
export function isBaselineH264(codec) {
  if (String(codec.mimeType).toLowerCase() !== "video/h264") return false;
  const fmtp = codec.sdpFmtpLine ?? "";
  const level = /profile-level-id=([0-9a-f]{6})/i.exec(fmtp);
  if (!level || !/packetization-mode=1/.test(fmtp)) return false;
  const profile = level[1].slice(0, 2).toLowerCase();
  return profile === "42" && (Number.parseInt(level[1].slice(2, 4), 16) & 0x40) !== 0;
}

/**
 * Puts H.264 constrained baseline first on a video sender's transceiver (the other codecs,
 * retransmission included, follow). Returns what was asked for: "H264", or "VP8" when the
 * browser has no H.264 encoder, or "browser default" when it cannot be asked.
 */
export function preferH264(transceiver) {
  const caps = globalThis.RTCRtpSender?.getCapabilities?.("video");
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return "browser default";
  const h264 = caps.codecs.filter(isBaselineH264);
  if (!h264.length) return "VP8";
  const rest = caps.codecs.filter((c) => String(c.mimeType).toLowerCase() !== "video/h264");
  transceiver.setCodecPreferences([...h264, ...rest]);
  return "H264";
}
