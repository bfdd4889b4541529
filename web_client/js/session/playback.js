// What the watch page's player tells the rest of the page: which video tier plays and where
// the picture is in the show's media time, and a queue that holds room news (a product
// pinned, a flash sale, "N bought") until the picture reaches the moment it happened.
//
// On WebRTC (under half a second behind) news shows at once, as it arrives. On LL-HLS the
// picture is a few seconds behind the room: a card pinned at media time 812.4 s would show
// before the host holds the product up, so it waits until the player's media time reaches
// 812.4. The player's media time comes from EXT-X-PROGRAM-DATE-TIME, which the server writes
// as media_epoch_ms + 1000 * media time (GET /api/sessions/{id}/hls).
//
//   setPlayback({ tier: "hls", mediaTime: () => seconds or null, epochMs });
//   pictureSync.hold(mediaTimeOrNull, () => render());   // in arrival order
//   document.addEventListener("liveshop:tier", (e) => e.detail.tier);

const POLL_MS = 40; // how often a held item checks the picture: well within the 0.5 s budget
const MAX_HOLD_MS = 12_000; // a stalled or paused player never hides news for longer

const current = { tier: null, mediaTime: () => null, epochMs: null };

/** The tier now playing ("webrtc" | "hls"), or null before the first frame. */
export function currentTier() {
  return current.tier;
}

/** The show's media time of the picture on screen (seconds), or null when unknown. */
export function pictureMediaTime() {
  return current.mediaTime();
}

/**
 * The show's media time of a moment on the server's wall clock (epoch seconds), e.g. a
 * tick's commerce.server_time; null when the HLS epoch is not known (WebRTC, not live).
 */
export function mediaTimeOfServerTime(epochSeconds) {
  if (current.epochMs === null || typeof epochSeconds !== "number") return null;
  return epochSeconds - current.epochMs / 1000;
}

/** The player switched tiers (or learned its media-time mapping). */
export function setPlayback({ tier, mediaTime = () => null, epochMs = null }) {
  const changed = tier !== current.tier;
  current.tier = tier;
  current.mediaTime = mediaTime;
  current.epochMs = typeof epochMs === "number" ? epochMs : null;
  if (tier !== "hls") pictureSync.flush(); // real time: whatever was held is due now
  if (changed) document.dispatchEvent(new CustomEvent("liveshop:tier", { detail: { tier } }));
}

/** Runs callbacks in arrival order, each once the picture reaches its media time. */
class PictureSync {
  constructor() {
    this.queue = [];
    this.timer = null;
  }

  /**
   * Run `fn` when the picture reaches `mediaTime` (seconds), at once on WebRTC. A null
   * time means "as soon as everything that arrived before it has run".
   */
  hold(mediaTime, fn) {
    if (current.tier !== "hls" && this.queue.length === 0) {
      fn();
      return;
    }
    this.queue.push({ at: typeof mediaTime === "number" ? mediaTime : null, fn, since: performance.now() });
    this.release();
  }

  /** Runs everything held, now (the tier became real-time). */
  flush() {
    const items = this.queue.splice(0);
    for (const item of items) run(item.fn);
    this.stop();
  }

  release() {
    const now = performance.now();
    const picture = current.tier === "hls" ? current.mediaTime() : null;
    while (this.queue.length) {
      const head = this.queue[0];
      const due =
        current.tier !== "hls" ||
        head.at === null ||
        (picture !== null && picture >= head.at) ||
        now - head.since > MAX_HOLD_MS;
      if (!due) break;
      this.queue.shift();
      run(head.fn);
    }
    if (this.queue.length && this.timer === null) {
      this.timer = setInterval(() => this.release(), POLL_MS);
    } else if (!this.queue.length) {
      this.stop();
    }
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}

function run(fn) {
  try {
    fn();
  } catch (err) {
    console.error(err); // one bad update must not block the ones behind it
  }
}

export const pictureSync = new PictureSync();
