// The feed page (Inspire-style): a full-screen vertical list of clips and posts from
// GET /api/feed. Swipe (native scroll snap), mouse wheel and arrow keys move one item;
// only the visible clip plays; watched items are reported so they rank lower next time.

import { api, currentUser } from "../api.js";
import { closeSheet, el, emptyState, renderNav, replaceChildren, toast } from "../ui.js";
import { renderCard } from "./card.js";
import { openBag } from "./shop.js";
import { openComments, openInterests, toggleFollow, toggleSmile } from "./social.js";

const PAGE = 8;
const SEEN_AFTER_MS = 1500;

const feed = document.getElementById("feed");
// The tab: "for-you" (ranked) or "following" (creators the viewer follows, newest first).
const TAB = new URLSearchParams(location.search).get("tab") === "following" ? "following" : "for-you";
const state = { items: [], cursor: null, done: false, loading: null, active: -1, me: null, seen: new Set(), seenTimer: null };

const handlers = {
  onSmile: (item, button) => toggleSmile(item, button),
  onFollow: (item, button) => toggleFollow(item, button),
  onComments: (item) => openComments(item, cardAt(state.items.indexOf(item))),
  onBag: (item) => openBag(item),
};

function cardAt(index) {
  return feed.querySelectorAll(".feed-item")[index] || null;
}

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting && entry.intersectionRatio >= 0.6) {
        const index = [...feed.querySelectorAll(".feed-item")].indexOf(entry.target);
        if (index >= 0) activate(index);
      }
    }
  },
  { root: feed, threshold: [0.6] },
);

function append(items) {
  const known = new Set(state.items.map((i) => `${i.type}:${i.id}`));
  for (const item of items) {
    if (known.has(`${item.type}:${item.id}`)) continue; // a deep-linked item is already first
    known.add(`${item.type}:${item.id}`);
    state.items.push(item);
    const card = renderCard(item, state.me, handlers);
    if (item.creator) card.dataset.creatorId = String(item.creator.id);
    feed.insertBefore(card, feed.querySelector(".feed-end"));
    observer.observe(card);
  }
}

async function loadMore() {
  if (state.done) return;
  if (state.loading) return state.loading;
  const url = `/api/feed?limit=${PAGE}` + (TAB === "following" ? "&filter=following" : "") + (state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "");
  state.loading = api(url)
    .then((page) => {
      append(page.items);
      state.cursor = page.next_cursor;
      state.done = !page.next_cursor;
      if (state.done) showEnd();
    })
    .catch((err) => toast(err.message, "error"))
    .finally(() => {
      state.loading = null;
      feed.setAttribute("aria-busy", "false");
    });
  return state.loading;
}

function videosOf(card) {
  return card ? [...card.querySelectorAll("video")] : [];
}

function activate(index) {
  if (index === state.active) return;
  const previous = cardAt(state.active);
  for (const video of videosOf(previous)) video.pause();
  state.active = index;
  const card = cardAt(index);
  feed.dataset.activeIndex = String(index);
  feed.dataset.activeItem = card ? card.dataset.itemId : "";
  const video = videosOf(card)[0];
  if (video) {
    video.play().catch(() => {
      /* autoplay refused: the poster stays; a tap plays */
    });
  }
  clearTimeout(state.seenTimer);
  const item = state.items[index];
  if (item && !state.seen.has(item.item_id)) {
    state.seenTimer = setTimeout(() => {
      state.seen.add(item.item_id);
      api("/api/feed/seen", { body: { item_id: item.item_id } }).catch(() => {});
    }, SEEN_AFTER_MS);
  }
  document.getElementById("feed-hint").classList.toggle("is-gone", index > 0);
  if (index >= state.items.length - 3) loadMore();
}

function go(delta) {
  const count = feed.querySelectorAll(".feed-item").length;
  const target = Math.max(0, Math.min(count - 1, (state.active < 0 ? 0 : state.active) + delta));
  const card = cardAt(target);
  if (card) feed.scrollTo({ top: card.offsetTop, behavior: "smooth" });
}

// Wheel: one item per gesture (trackpads send many small events).
let wheelLock = 0;
let wheelSum = 0;
feed.addEventListener(
  "wheel",
  (event) => {
    if (event.target instanceof Element && event.target.closest(".feed-carousel") && Math.abs(event.deltaX) > Math.abs(event.deltaY)) return;
    event.preventDefault();
    const now = performance.now();
    if (now < wheelLock) return;
    wheelSum += event.deltaY;
    if (Math.abs(wheelSum) >= 30) {
      go(wheelSum > 0 ? 1 : -1);
      wheelSum = 0;
      wheelLock = now + 450;
    }
  },
  { passive: false },
);

document.addEventListener("keydown", (event) => {
  if (document.querySelector(".sheet")) return;
  if (event.target instanceof HTMLElement && event.target.closest("input, textarea, select")) return;
  if (["ArrowDown", "PageDown", "j"].includes(event.key)) {
    event.preventDefault();
    go(1);
  } else if (["ArrowUp", "PageUp", "k"].includes(event.key)) {
    event.preventDefault();
    go(-1);
  } else if (event.key === "m") {
    const button = cardAt(state.active)?.querySelector(".feed-muted");
    if (button) button.click();
  }
});

// Tap on a clip toggles play/pause (and starts playback where autoplay was refused).
feed.addEventListener("click", (event) => {
  if (!(event.target instanceof HTMLVideoElement)) return;
  const video = event.target;
  if (video.paused) video.play().catch(() => {});
  else video.pause();
});

document.addEventListener("visibilitychange", () => {
  const video = videosOf(cardAt(state.active))[0];
  if (!video) return;
  if (document.hidden) video.pause();
  else video.play().catch(() => {});
});

async function deepLinked() {
  const params = new URLSearchParams(location.search);
  for (const type of ["clip", "post"]) {
    const id = params.get(type);
    if (id && /^\d+$/.test(id)) {
      try {
        return [await api(`/api/${type}s/${id}`)];
      } catch {
        toast(`That ${type} is no longer available.`, "error");
      }
    }
  }
  return [];
}

async function restart() {
  closeSheet();
  for (const card of feed.querySelectorAll(".feed-item")) card.remove();
  Object.assign(state, { items: [], cursor: null, done: false, active: -1 });
  feed.querySelector(".feed-end").hidden = true;
  feed.scrollTo({ top: 0 });
  await loadMore();
}

function endOfFeed() {
  if (TAB !== "following") {
    return emptyState("You're all caught up", "Come back later for new clips and posts.", { action: el("a", { class: "btn btn-primary", href: "/" }, "Watch live shows") });
  }
  if (!state.me) {
    const next = encodeURIComponent("/feed.html?tab=following");
    return emptyState("See the creators you follow", "Log in to see the clips and posts of creators you follow, newest first.", { action: el("a", { class: "btn btn-primary", href: `/login.html?next=${next}` }, "Log in") });
  }
  if (state.items.length) return emptyState("You're all caught up", "That's everything from the creators you follow.", { action: el("a", { class: "btn btn-primary", href: "/feed.html" }, "Back to For you") });
  return emptyState("Nothing from creators you follow yet", "Follow creators to see their clips and posts here.", { action: el("a", { class: "btn btn-primary", href: "/search.html?kind=creators" }, "Find creators") });
}

function showEnd() {
  const end = feed.querySelector(".feed-end");
  replaceChildren(end, endOfFeed());
  end.hidden = false;
  if (!state.items.length) document.getElementById("feed-hint").classList.add("is-gone");
}

async function main() {
  document.getElementById(TAB === "following" ? "tab-following" : "tab-for-you").setAttribute("aria-current", "page");
  state.me = await renderNav({ active: "feed" }).catch(() => null);
  if (!state.me) state.me = await currentUser().catch(() => null);
  feed.append(el("section", { class: "feed-end", hidden: true }, endOfFeed()));
  if (TAB === "following" && !state.me) {
    feed.setAttribute("aria-busy", "false");
    showEnd();
    return;
  }
  const tune = document.getElementById("feed-tune");
  if (state.me) {
    tune.hidden = false;
    tune.addEventListener("click", () => openInterests(state.me, async () => {
      state.me = await currentUser({ refresh: true });
      await restart();
    }));
  }
  if (TAB !== "following") append(await deepLinked());
  await loadMore();
  if (!state.items.length) {
    showEnd();
    return;
  }
  feed.focus({ preventScroll: true });
}

main();
