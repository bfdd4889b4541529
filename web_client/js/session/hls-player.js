// The standard-latency tier: the show's LL-HLS stream in the page's own <video>.
//
// hls.js (npm, served at /vendor/hls.js/, loaded only when a viewer needs it) in
// low-latency mode wherever the browser has Media Source Extensions; Safari's native HLS
// where it has not. A private show's multivariant playlist is asked for with the viewer's
// bearer token; it names a media playlist under a signed grant, so the media playlist,
// init, segments and parts go out without any header and stay cacheable by URL.
//
//   const hls = new HlsPlayer(video, { sessionId, url, onEnded, onTrouble });
//   await hls.start();      // resolves once the stream is attached (not yet playing)
//   hls.mediaTime();        // the show's media time of the picture on screen, or null
//   hls.stop();

import { api, getToken } from "../api.js";

const HLS_JS = "/vendor/hls.js/hls.min.mjs";
const HLS_WORKER = "/vendor/hls.js/hls.worker.js";
const RESTART_MS = [1000, 2000, 4000, 8000]; // then every 8 s
const INFO_RETRY_MS = 2000;

let hlsModule = null;

function loadHlsJs() {
  hlsModule ??= import(HLS_JS).then((m) => m.default);
  return hlsModule;
}

function hasMse() {
  return Boolean(window.ManagedMediaSource || window.MediaSource);
}

/** Whether this browser can play the LL-HLS tier at all (hls.js on MSE, or native). */
export function canPlayHls(video) {
  return hasMse() || Boolean(video.canPlayType("application/vnd.apple.mpegurl"));
}

function sameResource(a, b) {
  try {
    const x = new URL(a, location.href);
    const y = new URL(b, location.href);
    return x.origin === y.origin && x.pathname === y.pathname;
  } catch {
    return false;
  }
}

export class HlsPlayer {
  /**
   * @param {HTMLVideoElement} video the page's player (kept: muted state, size, listeners)
   * @param {{sessionId: number, url: string, onEnded?: () => void,
   *   onTrouble?: (message: string) => void, onEpoch?: (ms: number) => void}} options
   */
  constructor(video, { sessionId, url, onEnded, onTrouble, onEpoch }) {
    this.video = video;
    this.sessionId = sessionId;
    this.url = new URL(url, location.href).href; // the multivariant playlist
    this.onEnded = onEnded ?? (() => {});
    this.onTrouble = onTrouble ?? (() => {});
    this.onEpoch = onEpoch ?? (() => {});
    this.epochMs = null;
    this.hls = null;
    this.dateOffsetMs = null; // picture date minus the element's time, last seen (ms)
    this.native = false;
    this.stopped = false;
    this.restarts = 0;
    this.restartTimer = null;
    this.infoTimer = null;
    this.endlist = false;
    this.onVideoEnded = () => {
      if (!this.stopped) this.onEnded();
    };
    this.onPlaying = () => {
      this.restarts = 0;
    };
  }

  /** Attaches the stream to the video element and starts loading it. */
  async start() {
    this.video.addEventListener("ended", this.onVideoEnded);
    this.video.addEventListener("playing", this.onPlaying);
    this.readEpoch();
    if (hasMse()) {
      const Hls = await loadHlsJs();
      if (this.stopped) return;
      if (Hls.isSupported()) {
        this.startHlsJs(Hls);
        return;
      }
    }
    if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.native = true;
      await this.startNative();
      return;
    }
    this.onTrouble("This browser cannot play the standard-latency stream.");
  }

  /** The show's media time (seconds) of the picture now on screen, or null. */
  mediaTime() {
    if (this.epochMs === null) return null;
    const date = this.playingDate();
    return date === null ? null : (date - this.epochMs) / 1000;
  }

  /**
   * The wall-clock ms of the picture (its EXT-X-PROGRAM-DATE-TIME), or null. hls.js knows
   * it only while the fragment under the playhead is in its tracker (not always so while
   * it catches up with the live edge under load); in between, the last mapping from the
   * element's time to the date holds: one hls.js instance keeps one continuous timeline.
   */
  playingDate() {
    if (this.hls) {
      const date = this.hls.playingDate;
      const at = this.video.currentTime * 1000;
      if (date) {
        this.dateOffsetMs = date.getTime() - at;
        return date.getTime();
      }
      return this.dateOffsetMs === null ? null : this.dateOffsetMs + at;
    }
    if (this.native && typeof this.video.getStartDate === "function") {
      const start = this.video.getStartDate().getTime();
      return Number.isFinite(start) ? start + this.video.currentTime * 1000 : null;
    }
    return null;
  }

  /** Stops loading and frees the element for the WebRTC tier (or the end of the show). */
  stop() {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.infoTimer);
    this.video.removeEventListener("ended", this.onVideoEnded);
    this.video.removeEventListener("playing", this.onPlaying);
    this.detach();
  }

  detach() {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (this.native) {
      this.video.removeAttribute("src");
      this.video.load();
    }
  }

  // The media-time epoch: null until the show has gone live; asked again until known.
  async readEpoch() {
    if (this.stopped || this.epochMs !== null) return;
    try {
      const info = await api(`/api/sessions/${this.sessionId}/hls`);
      if (typeof info.media_epoch_ms === "number") {
        this.epochMs = info.media_epoch_ms;
        this.onEpoch(this.epochMs);
        return;
      }
    } catch {
      /* offline for a moment, or not live yet */
    }
    this.infoTimer = setTimeout(() => this.readEpoch(), INFO_RETRY_MS);
  }

  startHlsJs(Hls) {
    const token = getToken();
    const multivariant = this.url;
    const hls = new Hls({
      lowLatencyMode: true,
      workerPath: HLS_WORKER,
      backBufferLength: 30,
      // The token goes with the multivariant playlist only: what it names is signed into
      // its URL, so every other request stays header-free (and a cache keys on the URL).
      xhrSetup(xhr, url) {
        if (!token || !sameResource(url, multivariant)) return;
        if (!xhr.readyState) xhr.open("GET", url, true);
        xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      },
    });
    this.hls = hls;
    this.dateOffsetMs = null; // a new instance, a new timeline
    hls.on(Hls.Events.LEVEL_UPDATED, (_event, data) => {
      if (data.details && data.details.live === false) this.endlist = true;
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || this.stopped) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && this.restarts < 2) {
        this.restarts += 1;
        hls.recoverMediaError();
        return;
      }
      // A network error that hls.js gave up on: a playlist not there yet (the packager's
      // first keyframe), an expired grant or a restarted server (a new epoch). Loading the
      // multivariant playlist again answers all three.
      this.restart();
    });
    hls.attachMedia(this.video);
    hls.loadSource(multivariant);
    this.video.play().catch(() => {});
  }

  restart() {
    if (this.stopped) return;
    if (this.endlist) {
      this.onEnded(); // the show is over and its playlist said so: nothing to reload
      return;
    }
    this.onTrouble("Reconnecting…");
    this.detach();
    const delay = RESTART_MS[Math.min(this.restarts, RESTART_MS.length - 1)];
    this.restarts += 1;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(async () => {
      if (this.stopped) return;
      if (this.native) await this.startNative();
      else this.startHlsJs(await loadHlsJs());
    }, delay);
  }

  // Native HLS cannot add a header: ask for the multivariant playlist here (with the
  // token) and give the element the media playlist it names (its grant is in its URL).
  async startNative() {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let media = null;
    try {
      const response = await fetch(this.url, { headers, cache: "no-store" });
      if (response.ok) {
        const uri = (await response.text()).split("\n").map((l) => l.trim()).find((l) => l && !l.startsWith("#"));
        if (uri) media = new URL(uri, this.url).href;
      }
    } catch {
      /* retried below */
    }
    if (this.stopped) return;
    if (!media) {
      this.restart();
      return;
    }
    this.video.src = media;
    this.video.addEventListener("error", () => this.restart(), { once: true });
    this.video.play().catch(() => {});
  }
}
