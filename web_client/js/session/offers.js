// Giveaway and live-coupon cards over the video: "Enter" a giveaway with one tap (and see
// who won), "Claim" a coupon with one tap (checkout then applies it: see couponFor).

import { ready } from "../pages/session.js";
import { el, toast } from "../ui.js";
import { clockText, formatsStack, liveRoom } from "./auction.js";

const state = { sessionId: null, me: null, room: null, giveaway: null, deadline: 0, entered: new Set() };
const coupons = new Map(); // coupon id -> coupon (the latest the room showed)
const claimed = new Map(); // coupon id -> coupon this viewer claimed

/**
 * The claimed coupon checkout should use for a product (the biggest discount), or null.
 * The buy sheet sends its id as `coupon_id`; the server decides whether it applies.
 */
export function couponFor(productId, priceMinor) {
  let best = null;
  let bestOff = 0;
  for (const c of claimed.values()) {
    const live = coupons.get(c.id) ?? c;
    if (!live.valid || live.left <= 0) continue;
    if (live.product_ids && !live.product_ids.includes(productId)) continue;
    const off = live.kind === "percent" ? Math.floor((priceMinor * live.value) / 100) : Math.min(live.value, priceMinor);
    if (off > bestOff) [best, bestOff] = [live, off];
  }
  return best ? { coupon: best, off: bestOff } : null;
}

const box = el("div", { class: "offers", id: "offers" });
formatsStack().append(box);

const gPrize = el("div", { class: "offer-title", id: "giveaway-prize" });
const gMeta = el("div", { class: "offer-meta", id: "giveaway-meta" });
const gButton = el("button", { type: "button", class: "btn btn-primary btn-small", id: "giveaway-enter", onclick: () => enter() }, "Enter");
const gResult = el("div", { class: "offer-result", id: "giveaway-result", role: "status" });
const gCard = el("section", { class: "offer-card giveaway-card", id: "giveaway-card", hidden: true, "aria-label": "Giveaway" },
  el("span", { class: "offer-tag" }, "Giveaway"), gPrize, gMeta, gButton, gResult);
const couponList = el("div", { class: "coupon-list", id: "coupon-list" });
box.append(gCard, couponList);

function renderGiveaway() {
  const g = state.giveaway;
  gCard.hidden = !g;
  if (!g) return;
  gCard.dataset.status = g.status;
  gPrize.textContent = g.prize;
  const open = g.status === "open";
  const left = state.deadline - performance.now();
  gMeta.textContent = open ? `${g.entrants} entered · drawn in ${clockText(left)}` : "";
  const mine = state.entered.has(g.id);
  gButton.hidden = !open;
  gButton.disabled = mine;
  gButton.textContent = !state.me ? "Log in to enter" : mine ? "You're in" : "Enter";
}
setInterval(renderGiveaway, 250);

function adoptGiveaway(g) {
  if (!g || g.session_id !== state.sessionId) return;
  if (state.giveaway?.id !== g.id) gResult.textContent = "";
  state.giveaway = g;
  state.deadline = performance.now() + g.time_left_ms;
  renderGiveaway();
}

async function enter() {
  const g = state.giveaway;
  if (!g) return;
  if (!state.me) {
    location.href = `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
    return;
  }
  const ack = await state.room.call("giveaway:enter", { session_id: state.sessionId, giveaway_id: g.id });
  if (ack.error) gResult.textContent = ack.error.message;
  else {
    state.entered.add(g.id);
    gResult.textContent = ack.text;
  }
  renderGiveaway();
}

function renderCoupons() {
  const cards = [...coupons.values()].filter((c) => c.valid).slice(0, 3).map((c) => {
    const mine = claimed.has(c.id);
    const claim = el("button", {
      type: "button",
      class: "btn btn-primary btn-small coupon-claim",
      dataset: { couponId: String(c.id) },
      disabled: mine || c.left <= 0,
      onclick: () => claimCoupon(c),
    }, mine ? "Claimed" : c.left <= 0 ? "All used" : "Claim");
    return el("section", { class: "offer-card coupon-card", dataset: { couponId: String(c.id) }, "aria-label": "Coupon" },
      el("span", { class: "offer-tag" }, "Coupon"),
      el("div", { class: "offer-title" }, c.text),
      el("div", { class: "offer-meta" }, `${c.code} · ${c.left} left`),
      claim,
      mine ? el("div", { class: "offer-result" }, "Applied when you buy") : null);
  });
  couponList.replaceChildren(...cards);
}

async function claimCoupon(c) {
  if (!state.me) {
    location.href = `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
    return;
  }
  const ack = await state.room.call("coupon:claim", { session_id: state.sessionId, coupon_id: c.id });
  if (ack.error) toast(ack.error.message, "error");
  else {
    claimed.set(c.id, ack.coupon);
    coupons.set(c.id, ack.coupon);
    toast(ack.text, "success");
  }
  renderCoupons();
}

async function main() {
  const loaded = await ready;
  if (!loaded?.session) return;
  state.sessionId = loaded.session.id;
  state.me = loaded.user ?? null;
  const room = await liveRoom();
  state.room = room;
  const s = room.socket;
  s.on("giveaway:started", adoptGiveaway);
  s.on("giveaway:result", (r) => {
    if (r.session_id !== state.sessionId) return;
    state.giveaway = { ...r, status: r.status };
    gResult.textContent = r.text;
    renderGiveaway();
    setTimeout(() => {
      if (state.giveaway?.id === r.id && state.giveaway.status !== "open") {
        state.giveaway = null;
        renderGiveaway();
      }
    }, 12_000);
  });
  s.on("giveaway:won", (w) => toast(w.text, "success", { timeout: 8000 }));
  s.on("coupon:dropped", (c) => {
    if (c.session_id !== state.sessionId) return;
    coupons.set(c.id, c);
    renderCoupons();
  });
  s.on("coupon:withdrawn", (c) => {
    coupons.set(c.id, c);
    renderCoupons();
  });
  s.on("room:tick", (t) => {
    if (t.giveaway) adoptGiveaway(t.giveaway);
    for (const c of t.coupons?.items ?? []) coupons.set(c.id, c);
    if (t.coupons) renderCoupons();
  });
}

main();
