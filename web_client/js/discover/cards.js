// Cards shared by the search and creator pages: shows (live, upcoming, replay), clips,
// products with what features them, and creators. Text is always text (ui.el).

import { formatPrice, formatRelative, formatTime } from "../api.js";
import { avatar, badge, cover, el, icon } from "../ui.js";

/** Where a creator's page is. */
export function creatorUrl(user) {
  return `/creator.html?id=${encodeURIComponent(user.id)}`;
}

function showState(show) {
  if (show.state === "ended") return "replay";
  if (show.state === "scheduled") return "upcoming";
  return show.state === "reconnecting" ? "reconnecting" : "live";
}

function showTime(show) {
  if (show.state === "ended") return formatTime(show.ended_at || show.starts_at);
  if (show.state === "scheduled") return formatTime(show.starts_at);
  return show.went_live_at ? `Started ${formatRelative(show.went_live_at)}` : "On air";
}

/** A show card that opens the live page (or the replay once it has ended). */
export function showCard(show, { withHost = true } = {}) {
  const coverNode = cover(show.cover_url, show.title || String(show.id));
  coverNode.append(badge(showState(show)), el("span", { class: "cover-time" }, showTime(show)));
  const host = show.host;
  return el(
    "a",
    { class: "show-card", href: show.url, dataset: { sessionId: String(show.id), state: show.state } },
    coverNode,
    el(
      "div",
      { class: "show-body" },
      el("h3", { class: "show-title" }, show.title),
      withHost && host ? el("div", { class: "host-line" }, avatar(host), el("span", {}, host.display_name || host.username)) : null,
    ),
  );
}

function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A clip tile (its poster) that plays it in the feed. */
export function clipCard(clip) {
  const poster = el("div", { class: "clip-poster" });
  if (clip.poster_url && /^(\/|https?:)/.test(clip.poster_url)) {
    poster.style.backgroundImage = `url("${encodeURI(clip.poster_url).replace(/"/g, "%22")}")`;
  }
  poster.append(icon("play", "clip-play"), el("span", { class: "clip-length" }, duration(clip.duration_s)));
  return el(
    "a",
    { class: "clip-card", href: clip.url, dataset: { clipId: String(clip.id) } },
    poster,
    el("span", { class: "clip-title" }, clip.title || "Clip"),
  );
}

/** A post tile: its first photo or video poster and the caption; opens it in the feed. */
export function postCard(entry) {
  const media = (entry.post && entry.post.media && entry.post.media[0]) || null;
  const still = media ? media.poster_url || (media.kind === "image" ? media.url : null) : null;
  const poster = el("div", { class: "clip-poster" });
  if (still && /^(\/|https?:)/.test(still)) poster.style.backgroundImage = `url("${encodeURI(still).replace(/"/g, "%22")}")`;
  if (media && media.kind === "video") poster.append(icon("play", "clip-play"));
  return el(
    "a",
    { class: "clip-card", href: `/feed.html?post=${encodeURIComponent(entry.id)}`, dataset: { postId: String(entry.id) } },
    poster,
    el("span", { class: "clip-title" }, (entry.post && entry.post.caption) || "Post"),
  );
}

/** A creator row: avatar, names, and a link to their page. */
export function creatorRow(user) {
  return el(
    "a",
    { class: "list-item creator-row", href: creatorUrl(user), dataset: { creatorId: String(user.id) } },
    avatar(user),
    el("span", { class: "grow" }, el("span", { class: "title" }, user.display_name || user.username), el("span", { class: "muted small creator-handle" }, `@${user.username}`)),
  );
}

/** A product found: the product, then the shows and clips that feature it. */
export function foundProduct(found) {
  const p = found.product;
  const image = (p.images && p.images[0]) || null;
  const picture = image ? el("img", { class: "product-img", src: image, alt: "", loading: "lazy" }) : el("div", { class: "product-img", "aria-hidden": "true" });
  const featured = [...found.shows.map((s) => showCard(s)), ...found.clips.map((c) => clipCard(c))];
  return el(
    "article",
    { class: "found-product", dataset: { productId: String(p.id) } },
    el("div", { class: "product" }, picture, el("div", { class: "product-body" }, el("div", { class: "product-title" }, p.title), el("div", { class: "price" }, formatPrice(p.price_minor, p.currency)))),
    featured.length
      ? el("div", { class: "featured" }, el("p", { class: "muted small featured-label" }, "Featured in"), el("div", { class: "rail featured-rail" }, featured))
      : el("p", { class: "muted small featured-label" }, "Not in a show or clip yet."),
  );
}
