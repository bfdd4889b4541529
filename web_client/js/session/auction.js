// The auction card over the video: the leading bid, a big countdown, "Bid $X" and
// "Set max bid", the bidder's standing ("You're winning" / "Outbid") and the result.
//
// Bids go over the live room's socket (room.js opens it: window.liveshopRoom). Prices and
// the winner are the server's; the card only shows what it says. The countdown runs from
// the time left the server sends with every lead and tick (never from a deadline on the
// server's clock), so it is right whatever this device's clock says.

import { currencyDigits, formatPrice } from "../api.js";
import { ready } from "../pages/session.js";
import { el, toast } from "../ui.js";

if (!document.querySelector('link[href="/css/formats.css"]')) {
  document.head.append(el("link", { rel: "stylesheet", href: "/css/formats.css" }));
}

/** The room.js socket, once it exists. */
export async function liveRoom() {
  for (;;) {
    if (window.liveshopRoom) return window.liveshopRoom;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The column over the video that holds the auction, giveaway and coupon cards. */
export function formatsStack() {
  let stack = document.getElementById("formats-stack");
  if (!stack) {
    stack = el("div", { class: "formats-stack", id: "formats-stack" });
    document.getElementById("stage")?.append(stack);
  }
  return stack;
}

/** A countdown text: 0:07. */
export function clockText(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Minor units from what a person typed ("42", "42.50"), or null. */
export function parseAmount(text, currency) {
  const digits = currencyDigits(currency);
  const clean = String(text).trim().replace(/[^0-9.,]/g, "").replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(clean)) return null;
  return Math.round(Number(clean) * 10 ** digits);
}

const state = { auction: null, deadline: 0, seq: 0, bid: false, me: null, room: null, sessionId: null };

const price = el("div", { class: "auction-price", id: "auction-price" });
const countdown = el("div", { class: "auction-clock", id: "auction-clock", "aria-label": "time left" });
const title = el("div", { class: "auction-title", id: "auction-title" });
const leader = el("div", { class: "auction-leader", id: "auction-leader" });
const standing = el("div", { class: "auction-me", id: "auction-me", role: "status", "aria-live": "polite" });
// the server's words on this viewer's last bid ("The next bid is at least $14."), for a while
const note = el("div", { class: "auction-note", id: "auction-note", "aria-live": "polite" });
let noteTimer = null;
function say(text) {
  note.textContent = text;
  clearTimeout(noteTimer);
  noteTimer = setTimeout(() => (note.textContent = ""), 5000);
}
const bidButton = el("button", { type: "button", class: "btn btn-primary auction-bid", id: "auction-bid", onclick: () => bidNext() });
const maxButton = el("button", { type: "button", class: "btn btn-ghost auction-max-open", id: "auction-max-open", onclick: () => toggleMax() }, "Set max bid");
const maxInput = el("input", { class: "input", id: "auction-max-input", inputmode: "decimal", autocomplete: "off", "aria-label": "Your maximum bid" });
const maxForm = el("form", { class: "auction-max", id: "auction-max-form", hidden: true, novalidate: true }, maxInput, el("button", { type: "submit", class: "btn btn-primary btn-small" }, "Set"));
const actions = el("div", { class: "auction-actions" }, bidButton, maxButton);
const result = el("div", { class: "auction-result", id: "auction-result", role: "status", hidden: true });
const card = el(
  "section",
  { class: "auction-card", id: "auction-card", hidden: true, "aria-label": "Live auction" },
  el("div", { class: "auction-head" }, el("span", { class: "auction-tag" }, "Auction"), title),
  el("div", { class: "auction-row" }, price, countdown),
  leader,
  standing,
  note,
  actions,
  maxForm,
  result,
);
formatsStack().prepend(card);

function money(minor) {
  return formatPrice(minor, state.auction?.currency || "USD");
}

function render() {
  const a = state.auction;
  if (!a) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  card.dataset.status = a.status;
  card.dataset.auctionId = String(a.id);
  title.textContent = a.quantity > 1 ? `${a.title} · lot of ${a.quantity}` : a.title;
  price.textContent = a.bids ? money(a.price_minor) : `Starts at ${money(a.start_price_minor)}`;
  price.dataset.price = String(a.price_minor);
  const bids = `${a.bids} bid${a.bids === 1 ? "" : "s"}`;
  leader.textContent = a.leader ? `${a.leader.name} is winning · ${bids}` : "No bids yet";
  const mine = state.me && a.leader && a.leader.id === state.me.id;
  const now = !state.me ? "" : mine ? "You're winning" : state.bid ? "Outbid" : "";
  if (now !== standing.textContent) note.textContent = ""; // yesterday's news
  standing.textContent = now;
  standing.dataset.standing = mine ? "winning" : state.bid ? "outbid" : "";
  const open = a.status === "running";
  actions.hidden = !open;
  if (!open) maxForm.hidden = true;
  bidButton.textContent = state.me ? `Bid ${money(a.next_bid_minor)}` : "Log in to bid";
  bidButton.dataset.amount = String(a.next_bid_minor ?? "");
  tick();
}

function tick() {
  if (!state.auction || state.auction.status !== "running") {
    countdown.textContent = "";
    return;
  }
  const left = state.deadline - performance.now();
  countdown.textContent = clockText(left);
  countdown.classList.toggle("is-urgent", left < 10_000);
}
setInterval(tick, 100);

function setClock(timeLeftMs) {
  state.deadline = performance.now() + timeLeftMs;
}

/** A card state from the server (start, tick, auction:state): newer than what we show. */
function adopt(auction) {
  if (!auction) return;
  if (state.auction && state.auction.id === auction.id && auction.seq < state.seq) return;
  if (!state.auction || state.auction.id !== auction.id) {
    state.bid = false;
    result.hidden = true;
  }
  state.auction = { ...auction };
  state.seq = auction.seq;
  setClock(auction.time_left_ms);
  if (auction.status !== "running" && auction.result) showResult(null);
  render();
}

function onLead(lead) {
  const a = state.auction;
  if (!a || a.id !== lead.auction_id || lead.seq <= state.seq) return; // never backwards
  state.seq = lead.seq;
  Object.assign(a, {
    price_minor: lead.price_minor,
    next_bid_minor: lead.next_bid_minor,
    leader: lead.leader,
    bids: lead.bids,
    seq: lead.seq,
  });
  setClock(lead.time_left_ms);
  if (lead.extended) {
    countdown.classList.remove("is-extended");
    void countdown.offsetWidth; // restart the flash
    countdown.classList.add("is-extended");
  }
  render();
}

function showResult(payload) {
  const a = state.auction;
  if (payload) {
    if (!a || a.id !== payload.auction_id) return;
    a.status = payload.status;
    result.textContent = payload.text;
    result.dataset.result = payload.result;
  }
  result.hidden = false;
  render();
  setTimeout(() => {
    if (state.auction === a && a.status !== "running") {
      state.auction = null;
      render();
    }
  }, 12_000);
}

async function send(amount, kind) {
  const a = state.auction;
  if (!a || !state.room) return;
  if (!state.me) {
    location.href = `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
    return;
  }
  state.bid = true;
  const ack = await state.room.call("auction:bid", { session_id: state.sessionId, auction_id: a.id, amount_minor: amount, kind });
  if (ack.error) {
    say(ack.error.message);
    return;
  }
  onLead(ack.bid); // the ack is this bid's lead: shown now, not at the next broadcast
  render();
  say(ack.bid.text);
}

function bidNext() {
  const a = state.auction;
  if (a?.next_bid_minor) send(a.next_bid_minor, "amount");
}

function toggleMax() {
  maxForm.hidden = !maxForm.hidden;
  if (!maxForm.hidden) {
    maxInput.placeholder = `${money(state.auction?.next_bid_minor ?? 0)} or more`;
    maxInput.focus();
  }
}

maxForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const amount = parseAmount(maxInput.value, state.auction?.currency);
  if (!amount) {
    say("Type an amount, like 25 or 25.50.");
    return;
  }
  maxForm.hidden = true;
  maxInput.value = "";
  send(amount, "max");
});

async function main() {
  const loaded = await ready;
  if (!loaded?.session) return;
  state.sessionId = loaded.session.id;
  state.me = loaded.user ?? null;
  const room = await liveRoom();
  state.room = room;
  const s = room.socket;
  s.on("auction:started", (a) => a.session_id === state.sessionId && adopt(a));
  s.on("auction:lead", (lead) => lead.session_id === state.sessionId && onLead(lead));
  s.on("auction:result", (r) => r.session_id === state.sessionId && showResult(r));
  s.on("auction:won", (w) => toast(w.text, "success", { timeout: 8000 }));
  s.on("room:tick", (t) => {
    const a = t.auctions?.auction;
    if (a) adopt(a);
  });
  const catchUp = async () => {
    for (let i = 0; i < 5; i += 1) {
      const ack = await room.call("auction:state", { session_id: state.sessionId });
      if (ack.ok) {
        if (ack.auction) adopt(ack.auction);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 300)); // the join is still on its way
    }
  };
  s.on("connect", catchUp);
  if (s.connected) catchUp();
}

main();
