// One feed item (clip or post) as a full-screen card. User text is always set with
// textContent (the el() helper never parses HTML).

import { formatPrice } from "../api.js";
import { avatar, el, gradientFor } from "../ui.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const PATHS = {
  smile: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Z", "M8.5 14.5a4.5 4.5 0 0 0 7 0", "M9 9.5h.01", "M15 9.5h.01"],
  comment: ["M4 5h16v11H8l-4 4Z"],
  bag: ["M5 8h14l-1 13H6L5 8Z", "M9 8V6a3 3 0 0 1 6 0v2"],
};

/** A small stroke icon for the action rail. */
export function railIcon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("aria-hidden", "true");
  for (const d of PATHS[name]) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  return svg;
}

/** A compact count: 999, 1.2k, 3.4M. */
export function shortCount(n) {
  const value = Number(n) || 0;
  if (value < 1000) return String(value);
  if (value < 1e6) return `${(value / 1000).toFixed(value < 1e4 ? 1 : 0)}k`;
  return `${(value / 1e6).toFixed(1)}M`;
}

/** Under a video: a soft tile of the creator's colours, seen only when the poster frame is
 * missing or fails to load (the video's own black would read as broken). */
function backdrop(item) {
  return gradientFor((item.creator && item.creator.display_name) || String(item.id));
}

function mediaFor(item) {
  if (item.type === "clip") {
    const video = el("video", {
      class: "feed-video",
      src: item.clip.video_url,
      // a real frame at the pinned moment, shown until the clip plays
      poster: item.clip.poster_url || null,
      style: { background: "transparent" },
      playsinline: true,
      muted: true,
      loop: true,
      preload: "metadata",
      "aria-label": item.clip.title || "Product clip",
    });
    video.muted = true;
    const media = el("div", { class: "feed-media" }, video);
    media.style.background = backdrop(item);
    return media;
  }
  const media = item.post.media;
  const slides = media.map((m) =>
    el(
      "div",
      { class: "slide" },
      m.kind === "video"
        ? el("video", { class: "feed-video", src: m.url, poster: m.poster_url || null, playsinline: true, muted: true, loop: true, preload: "metadata" })
        : el("img", { src: m.url, alt: "", loading: "lazy", decoding: "async" }),
    ),
  );
  const carousel = el("div", { class: "feed-carousel", "aria-label": `${media.length} photos and videos` }, slides);
  const parts = [el("div", { class: "feed-media" }, carousel)];
  if (media.length > 1) {
    const dots = el("div", { class: "feed-dots", "aria-hidden": "true" }, media.map((_, i) => el("i", { class: i === 0 ? "on" : "" })));
    carousel.addEventListener("scroll", () => {
      const index = Math.round(carousel.scrollLeft / Math.max(1, carousel.clientWidth));
      [...dots.children].forEach((dot, i) => dot.classList.toggle("on", i === index));
    }, { passive: true });
    parts.push(dots);
  }
  return parts;
}

function action(name, label, count, attrs = {}) {
  return el(
    "button",
    { type: "button", class: `feed-action feed-${name}`, "aria-label": label, ...attrs },
    el("span", { class: "bubble" }, railIcon(name)),
    el("span", { class: "count", dataset: { count: name } }, count === null ? "" : shortCount(count)),
  );
}

/**
 * Build the card of one item. `handlers` are {onSmile, onComments, onBag, onFollow}.
 * @returns {HTMLElement}
 */
export function renderCard(item, me, handlers) {
  const products = item.products || [];
  const first = products[0];
  const caption = item.type === "clip" ? item.clip.title || (first ? `Featuring ${first.title}` : "") : item.post.caption;
  const creator = item.creator;
  const canFollow = me && creator && me.id !== creator.id;
  const info = el(
    "div",
    { class: "feed-info" },
    item.sponsored ? el("span", { class: "feed-sponsored", dataset: { label: "sponsored" } }, "Sponsored") : null,
    el(
      "div",
      { class: "feed-creator" },
      creator
        ? el("a", { class: "creator-link", href: `/creator.html?id=${encodeURIComponent(creator.id)}` }, avatar(creator), el("span", { class: "creator-name" }, creator.display_name || creator.username))
        : null,
      canFollow
        ? el("button", { type: "button", class: "feed-follow", "aria-pressed": String(Boolean(item.following)), onclick: (e) => handlers.onFollow(item, e.currentTarget) }, item.following ? "Following" : "Follow")
        : null,
    ),
    caption ? el("p", { class: "feed-caption" }, caption) : null,
    first
      ? el(
          "button",
          { type: "button", class: "feed-product-peek", onclick: () => handlers.onBag(item) },
          first.images && first.images[0] ? el("img", { src: first.images[0], alt: "" }) : null,
          el("span", {}, `${first.title} · ${formatPrice(first.price_minor, first.currency)}`),
        )
      : null,
  );
  const rail = el(
    "div",
    { class: "feed-rail" },
    action("smile", "Smile", item.counts.smiles, { "aria-pressed": String(Boolean(item.smiled)), onclick: (e) => handlers.onSmile(item, e.currentTarget) }),
    action("comment", "Comments", item.counts.comments, { onclick: () => handlers.onComments(item) }),
    products.length ? action("bag", `Shop ${products.length} product${products.length > 1 ? "s" : ""}`, products.length, { onclick: () => handlers.onBag(item) }) : null,
  );
  const card = el(
    "article",
    {
      class: "feed-item",
      dataset: { itemId: String(item.item_id), type: item.type, id: String(item.id) },
      "aria-label": `${item.type === "clip" ? "Clip" : "Post"} by ${creator ? creator.display_name : "a creator"}`,
    },
    mediaFor(item),
    el("div", { class: "feed-shade" }),
    info,
    rail,
    item.type === "clip" ? el("button", { type: "button", class: "feed-muted", "aria-pressed": "true" }, "Sound off") : null,
    item.type === "clip" ? el("div", { class: "feed-progress", "aria-hidden": "true" }, el("i")) : null,
  );
  const video = card.querySelector(".feed-media > video");
  if (video) {
    const bar = card.querySelector(".feed-progress > i");
    video.addEventListener("timeupdate", () => {
      if (video.duration) bar.style.width = `${Math.min(100, (100 * video.currentTime) / video.duration)}%`;
    });
    const mute = card.querySelector(".feed-muted");
    mute.addEventListener("click", () => {
      video.muted = !video.muted;
      mute.setAttribute("aria-pressed", String(video.muted));
      mute.textContent = video.muted ? "Sound off" : "Sound on";
    });
  }
  return card;
}
