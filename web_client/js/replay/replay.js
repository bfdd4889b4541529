// The replay page: the show's video with its chat replayed at the media times it was sent
// and product cards appearing while they were pinned; the chapters list jumps to a
// product's moment; host, moderators and admins cut clips by hand.

import { api, formatPrice, getToken } from "../api.js";
import { avatar, busy, el, emptyState, renderNav, replaceChildren, toast } from "../ui.js";
import { openBag } from "../feed/shop.js";
import { auctionRows, renderAuctionCard, renderMarks } from "./auctions.js";

const PIN_SHOWN_S = 20; // a pin without an unpin time stays up this long
const params = new URLSearchParams(location.search);
const sessionId = Number.parseInt(params.get("session") || params.get("id") || "", 10);
const video = document.getElementById("replay-video");
const statusBox = document.getElementById("replay-status");
const state = { data: null, session: null, auctions: [], chatShown: -1, cardsKey: "", me: null, resumeAt: 0 };

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

function setStatus(text) {
  statusBox.hidden = !text;
  statusBox.textContent = text || "";
}

function productImage(product) {
  return product && product.images && product.images[0] ? el("img", { src: product.images[0], alt: "" }) : el("span", { class: "thumb" });
}

function seek(seconds) {
  video.currentTime = seconds;
  video.play().catch(() => {});
}

function renderChapters() {
  const list = document.getElementById("chapters");
  const chapters = state.data.chapters.filter((c) => c.product);
  if (!chapters.length && !state.auctions.length) {
    replaceChildren(list, el("li", { class: "muted" }, "No products were pinned in this show."));
    return;
  }
  const rows = [
    ...chapters.map((c) =>
      el(
        "li",
        { class: "list-item chapter", tabindex: "0", role: "button", dataset: { start: String(c.start), productId: String(c.product.id) }, onclick: () => seek(c.start), onkeydown: (e) => (e.key === "Enter" ? seek(c.start) : null) },
        productImage(c.product),
        el("div", {}, el("div", { class: "title" }, c.product.title), el("div", { class: "muted small" }, formatPrice(c.product.price_minor, c.product.currency))),
        el("span", { class: "time badge badge-soft" }, clock(c.start)),
      ),
    ),
    ...auctionRows(state.auctions, {
      clock,
      seek,
      picture: (id) => productImage((state.session?.products || []).find((p) => p.id === id)),
    }),
  ];
  rows.sort((a, b) => Number(a.dataset.start) - Number(b.dataset.start));
  replaceChildren(list, rows);
}

function renderTimelineMarks() {
  renderMarks(document.getElementById("replay-marks"), {
    duration: video.duration,
    pins: state.data.chapters.filter((c) => c.product),
    auctions: state.auctions,
    clock,
    seek,
  });
}

function shopItem(products) {
  // bought from the replay: the server credits the show's replay (it checks there is one)
  return { type: "replay", id: sessionId, products };
}

function renderCards(t) {
  const live = state.data.chapters.filter((c) => c.product && c.start <= t && t < (c.end ?? c.start + PIN_SHOWN_S));
  const key = live.map((c) => c.pin_id).join(",");
  for (const row of document.querySelectorAll(".chapter")) {
    row.setAttribute("aria-current", String(live.some((c) => String(c.product.id) === row.dataset.productId && String(c.start) === row.dataset.start)));
  }
  if (key === state.cardsKey) return;
  state.cardsKey = key;
  replaceChildren(
    document.getElementById("replay-cards"),
    live.map((c) =>
      el(
        "div",
        { class: "replay-card", dataset: { productId: String(c.product.id) } },
        productImage(c.product),
        el("div", {}, el("div", { class: "title" }, c.product.title), el("div", { class: "price" }, formatPrice(c.product.price_minor, c.product.currency))),
        el("button", { type: "button", class: "btn btn-primary btn-small", onclick: () => openBag(shopItem([c.product])) }, "Buy"),
      ),
    ),
  );
}

function renderChat(t) {
  const list = document.getElementById("replay-chat");
  const messages = state.data.chat;
  let upto = -1;
  while (upto + 1 < messages.length && messages[upto + 1].media_time <= t) upto += 1;
  if (upto === state.chatShown) return;
  if (upto < state.chatShown) {
    list.replaceChildren();
    state.chatShown = -1;
  }
  for (let i = state.chatShown + 1; i <= upto; i += 1) {
    const m = messages[i];
    list.append(el("li", { dataset: { messageId: String(m.id) } }, el("b", {}, m.user.display_name || "Someone"), el("span", { class: "text" }, m.text), " ", el("span", { class: "muted small" }, clock(m.media_time))));
  }
  state.chatShown = upto;
  list.scrollTop = list.scrollHeight;
  if (!messages.length) list.replaceChildren(el("li", { class: "muted" }, "No chat in this show."));
}

function renderClips() {
  const list = document.getElementById("replay-clips");
  const clips = state.data.clips;
  if (!clips.length) {
    replaceChildren(list, el("li", { class: "muted" }, state.data.ready ? "No clips yet." : "Clips appear once the replay is ready."));
    return;
  }
  replaceChildren(
    list,
    clips.map((c) =>
      el(
        "li",
        { class: "list-item" },
        el("a", { class: "clip-row", href: `/feed.html?clip=${c.id}`, dataset: { clipId: String(c.id) } }, el("img", { src: c.poster_url, alt: "" }), el("div", {}, el("div", { class: "title" }, c.title || `Clip at ${clock(c.start_s)}`), el("div", { class: "muted small" }, `${Math.round(c.duration_s)} s · ${c.source === "manual" ? "cut by hand" : "automatic"}`))),
      ),
    ),
  );
}

function setupCutForm() {
  const form = document.getElementById("cut-form");
  if (!state.data.can_cut || !state.data.ready) return;
  form.hidden = false;
  const products = state.session ? state.session.products : [];
  replaceChildren(
    document.getElementById("cut-products"),
    el("legend", { class: "label" }, "Tag products"),
    products.map((p) => el("label", { class: "check" }, el("input", { type: "checkbox", value: String(p.id), name: "product" }), el("span", {}, p.title))),
  );
  document.getElementById("cut-mark-start").onclick = () => (document.getElementById("cut-start").value = video.currentTime.toFixed(1));
  document.getElementById("cut-mark-end").onclick = () => (document.getElementById("cut-end").value = video.currentTime.toFixed(1));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const productIds = [...form.querySelectorAll("input[name=product]:checked")].map((i) => Number(i.value));
    try {
      const clip = await busy(document.getElementById("cut-submit"), () =>
        api(`/api/sessions/${sessionId}/clips`, {
          body: {
            start: Number(document.getElementById("cut-start").value),
            end: Number(document.getElementById("cut-end").value),
            product_ids: productIds,
            title: document.getElementById("cut-title").value.trim(),
          },
        }),
      );
      state.data.clips.push(clip);
      renderClips();
      toast("Clip cut: it is in the feed now.", "success");
    } catch (err) {
      toast(err.message, "error");
    }
  };
}

function onTime() {
  const t = video.currentTime;
  renderCards(t);
  renderChat(t);
  renderAuctionCard(document.getElementById("replay-auction"), state.auctions, t);
}

function setupTabs() {
  const tabs = document.querySelectorAll("#replay-tabs [role=tab]");
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) other.setAttribute("aria-selected", String(other === tab));
      for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== tab.dataset.tab;
    });
  }
}

// Until the MP4 replay is processed, the show's own LL-HLS segments play as an instant
// replay (docs/hls.md): the same timeline (media time 0 = the first frame), so chat and
// cards line up as they will on the processed replay.
async function startInstantReplay() {
  const url = `/hls/${sessionId}/index.m3u8`;
  const headers = getToken() ? { Authorization: `Bearer ${getToken()}` } : {};
  const probe = await fetch(url, { headers }).catch(() => null);
  if (!probe || !probe.ok || !(await probe.text()).includes("#EXT-X-STREAM-INF")) return null;
  if (video.canPlayType("application/vnd.apple.mpegurl") && !window.MediaSource) {
    video.src = url;
    return { destroy() {} };
  }
  const { default: Hls } = await import("/vendor/hls.js/hls.mjs");
  if (!Hls.isSupported()) return null;
  const hls = new Hls({
    // only the multivariant playlist needs the token; the rest carry their grant in the URL
    xhrSetup: (xhr, target) => {
      if (target.endsWith("/index.m3u8") && headers.Authorization) xhr.setRequestHeader("Authorization", headers.Authorization);
    },
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  video.dataset.instantReplay = "1";
  return hls;
}

function stopInstantReplay(hls) {
  if (!hls) return;
  const at = video.currentTime;
  hls.destroy();
  delete video.dataset.instantReplay;
  video.removeAttribute("src");
  video.load();
  state.resumeAt = at;
}

async function waitForProcessing(instantNote) {
  for (;;) {
    let text = instantNote || "The replay is being prepared…";
    if (state.data.can_cut) {
      try {
        const jobs = await api(`/api/sessions/${sessionId}/processing`);
        const job = jobs.items[0];
        if (job && job.state === "failed") text = `Processing failed: ${job.error || "unknown error"}`;
        else if (job && !instantNote) text = `Preparing the replay… ${Math.round(job.percent)}%`;
      } catch {
        /* keep the generic message */
      }
    }
    setStatus(text);
    statusBox.classList.toggle("state-note", Boolean(instantNote));
    await new Promise((r) => setTimeout(r, 2000));
    state.data = await api(`/api/sessions/${sessionId}/replay`);
    if (state.data.ready) return;
  }
}

async function main() {
  setupTabs();
  state.me = await renderNav({}).catch(() => null);
  if (!Number.isFinite(sessionId)) {
    replaceChildren(document.getElementById("replay"), emptyState("Replay not found", "Pick a replay from the home page.", { action: el("a", { class: "btn btn-primary", href: "/" }, "Home") }));
    return;
  }
  try {
    [state.data, state.session, state.auctions] = await Promise.all([
      api(`/api/sessions/${sessionId}/replay`),
      api(`/api/sessions/${sessionId}`),
      // the replay plays without its auctions if they cannot be read
      api(`/api/sessions/${sessionId}/auctions/timeline`).then((r) => r.items, () => []),
    ]);
  } catch (err) {
    replaceChildren(document.getElementById("replay"), emptyState("Replay not found", err.message, { action: el("a", { class: "btn btn-primary", href: "/" }, "Home") }));
    return;
  }
  document.title = `${state.session.title} · Replay · LiveShop`;
  document.getElementById("replay-title").textContent = state.session.title;
  const host = state.session.host;
  replaceChildren(document.getElementById("replay-host"), el("a", { href: `/creator.html?id=${encodeURIComponent(host.id)}`, style: { display: "flex", "align-items": "center", gap: "6px", color: "inherit" } }, avatar(host), el("span", {}, host.display_name)));
  renderChapters();
  renderClips();
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("seeked", onTime);
  video.addEventListener("loadedmetadata", renderTimelineMarks);
  video.addEventListener("durationchange", renderTimelineMarks);
  if (!state.data.ready) {
    const instant = state.data.instant_replay ? await startInstantReplay().catch(() => null) : null;
    if (instant) {
      renderChat(0);
      renderCards(0);
    }
    await waitForProcessing(instant ? "Instant replay · the full-quality replay is on its way" : null);
    stopInstantReplay(instant);
    statusBox.classList.remove("state-note");
    renderChapters();
    renderClips();
  }
  setStatus("");
  video.poster = state.data.replay.poster_url;
  video.src = state.data.replay.video_url;
  renderChat(0);
  renderCards(0);
  setupCutForm();
  const at = Number.parseFloat(params.get("t") || "");
  if (Number.isFinite(at)) seek(at);
  else if (state.resumeAt) seek(state.resumeAt);
}

main();
