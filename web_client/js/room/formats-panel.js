// The host's and moderators' controls for the live formats: auctions with a short queue
// of next items (start the next with one click, auction after auction), giveaways and
// live coupons. The studio mounts it beside the camera view; the moderator console too.
//
//   const panel = mountFormatsPanel(container, session);   // session: GET /api/sessions/{id}
//   panel.close();

import { findSellable, sellableOptions } from "../checkout/variants.js";
import { currencyDigits, formatPrice } from "../api.js";
import { showFieldError } from "../forms.js";
import { el, replaceChildren, toast } from "../ui.js";
import { openRoom, reason } from "./socket.js";

if (!document.querySelector('link[href="/css/formats.css"]')) {
  document.head.append(el("link", { rel: "stylesheet", href: "/css/formats.css" }));
}

function minor(text, currency) {
  const n = Number(String(text).replace(",", "."));
  return Number.isFinite(n) && n > 0 ? Math.round(n * 10 ** currencyDigits(currency)) : null;
}

function field(label, input) {
  return el("label", {}, label, input);
}

export function mountFormatsPanel(container, session) {
  const sessionId = session.id;
  const products = session.products ?? [];
  const currency = products[0]?.currency ?? "USD";
  const queueKey = `liveshop.auction-queue.${sessionId}`;
  let queue = JSON.parse(localStorage.getItem(queueKey) || "[]");
  let current = null; // the running auction's card
  let giveaway = null;

  const room = openRoom(sessionId, {
    onError: (e) => toast(e.message, "error"),
    on: {
      "auction:started": (a) => { current = a; renderLive(); },
      "auction:lead": (lead) => {
        if (current && current.id === lead.auction_id && lead.seq > (current.seq ?? 0)) {
          Object.assign(current, { price_minor: lead.price_minor, leader: lead.leader, bids: lead.bids, seq: lead.seq });
          renderLive();
        }
      },
      "auction:result": (r) => {
        results.prepend(el("li", { dataset: { result: r.result } }, r.text));
        if (current && current.id === r.auction_id) current = null;
        renderLive();
      },
      "room:tick": (t) => {
        if (t.auctions?.auction) {
          current = t.auctions.auction.status === "running" ? t.auctions.auction : current;
          renderLive();
        }
        giveaway = t.giveaway ?? null;
        renderGiveaway();
      },
      "giveaway:result": (r) => { results.prepend(el("li", {}, r.text)); giveaway = null; renderGiveaway(); },
      "coupon:dropped": (c) => results.prepend(el("li", {}, `Coupon ${c.code}: ${c.text}`)),
    },
  });
  // A refusal about one input goes under it (the ack names it in `field`), else a toast.
  const ask = async (event, payload, form = null, fields = {}) => {
    const ack = await room.call(event, { session_id: sessionId, ...payload });
    if (ack.error) {
      const err = { message: reason(ack), field: ack.error.field ?? null };
      if (!form || !showFieldError(form, err, { fields })) toast(err.message, "error");
    }
    return ack;
  };
  const AUCTION_FIELDS = {
    product_id: "#auction-product",
    start_price_minor: "#auction-start-price",
    duration_s: "#auction-duration",
    mode: "#auction-mode",
    window_s: "#auction-window",
    reset_s: "#auction-window",
    reserve_minor: "#auction-reserve",
    quantity: "#auction-product",
    on_payment_failure: "#auction-on-failure",
  };

  // -- auctions ---------------------------------------------------------------------------
  const product = el("select", { class: "input", id: "auction-product" }, sellableOptions(products));
  const start = el("input", { class: "input", id: "auction-start-price", inputmode: "decimal", value: "10" });
  const duration = el("input", { class: "input", id: "auction-duration", type: "number", min: "5", max: "3600", value: "30" });
  const mode = el("select", { class: "input", id: "auction-mode" },
    el("option", { value: "extend" }, "Counter-bid (resets when bid late)"),
    el("option", { value: "sudden_death" }, "Sudden death"));
  const windowS = el("input", { class: "input", id: "auction-window", type: "number", min: "1", max: "60", value: "10" });
  const reserve = el("input", { class: "input", id: "auction-reserve", inputmode: "decimal", placeholder: "none" });
  const onFail = el("select", { class: "input", id: "auction-on-failure" },
    el("option", { value: "next_bidder" }, "Offer to the next bidder"),
    el("option", { value: "return" }, "Return the item"));
  const terms = () => {
    const price = minor(start.value, currency);
    if (!price) return null;
    const t = {
      product_id: Number(product.value),
      start_price_minor: price,
      duration_s: Math.max(5, Number(duration.value) || 30),
      mode: mode.value,
      on_payment_failure: onFail.value,
    };
    if (mode.value === "extend") t.window_s = t.reset_s = Math.max(1, Math.min(60, Number(windowS.value) || 10));
    const r = reserve.value.trim() ? minor(reserve.value, currency) : null;
    if (r) t.reserve_minor = r;
    return t;
  };
  const titleOf = (id) => findSellable(products, id)?.title ?? `Product ${id}`;
  const queueList = el("ol", { class: "formats-queue", id: "auction-queue" });
  const saveQueue = () => {
    localStorage.setItem(queueKey, JSON.stringify(queue));
    replaceChildren(queueList, queue.map((t, i) => el("li", {},
      el("span", {}, `${titleOf(t.product_id)} · from ${formatPrice(t.start_price_minor, currency)} · ${t.duration_s} s`),
      el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => { queue.splice(i, 1); saveQueue(); } }, "Remove"))));
    nextButton.disabled = !queue.length;
  };
  const startAuction = async (t) => {
    const ack = await ask("auction:start", t, form, AUCTION_FIELDS);
    if (ack.ok) { current = ack.auction; renderLive(); }
    return ack.ok;
  };
  const nextButton = el("button", { type: "button", class: "btn btn-primary btn-small", id: "auction-next",
    onclick: async () => { if (queue.length && (await startAuction(queue[0]))) { queue.shift(); saveQueue(); } } }, "Start next in queue");
  const form = el("form", { id: "auction-form", novalidate: true },
    field("Product", product), field("Starting bid", start), field("Seconds", duration), field("Timer", mode),
    field("Counter-bid window (s)", windowS), field("Reserve", reserve), field("If payment fails", onFail),
    el("button", { type: "submit", class: "btn btn-primary btn-small", id: "auction-start" }, "Start auction"),
    el("button", { type: "button", class: "btn btn-ghost btn-small", id: "auction-queue-add",
      onclick: () => { const t = terms(); if (t) { queue.push(t); saveQueue(); } else toast("Enter a starting bid, like 10", "error"); } }, "Add to queue"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const t = terms();
    if (t) startAuction(t);
    else toast("Enter a starting bid, like 10", "error");
  });
  const live = el("div", { class: "formats-live", id: "auction-live", role: "status" });
  const cancel = el("button", { type: "button", class: "btn btn-danger btn-small", id: "auction-cancel", hidden: true,
    onclick: () => current && ask("auction:cancel", { auction_id: current.id }) }, "Cancel (no bids yet)");
  const renderLive = () => {
    if (!current) {
      live.textContent = "No auction running.";
      cancel.hidden = true;
      return;
    }
    const who = current.leader ? `${current.leader.name} leads at ${formatPrice(current.price_minor, current.currency)}` : "No bids yet";
    live.textContent = `${current.title}: ${who} · ${current.bids} bids`;
    cancel.hidden = current.bids > 0;
  };

  // -- giveaways ---------------------------------------------------------------------------
  const prize = el("input", { class: "input", id: "giveaway-prize-input", placeholder: "A prize, or pick a product" });
  const gProduct = el("select", { class: "input", id: "giveaway-product" }, el("option", { value: "" }, "No product"),
    products.map((p) => el("option", { value: String(p.id) }, p.title)));
  const gDuration = el("input", { class: "input", id: "giveaway-duration", type: "number", min: "10", max: "3600", value: "60" });
  const followers = el("input", { type: "checkbox", id: "giveaway-followers" });
  const buyers = el("input", { type: "checkbox", id: "giveaway-buyers" });
  const gLive = el("div", { class: "formats-live", id: "giveaway-live" });
  const gForm = el("form", { id: "giveaway-form", novalidate: true }, field("Prize", prize), field("Product", gProduct),
    field("Seconds", gDuration), field("Followers only", followers), field("Buyers of this show only", buyers),
    el("button", { type: "submit", class: "btn btn-primary btn-small", id: "giveaway-start" }, "Start giveaway"));
  gForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = { duration_s: Math.max(10, Number(gDuration.value) || 60), followers_only: followers.checked, buyers_only: buyers.checked };
    if (prize.value.trim()) payload.prize = prize.value.trim();
    if (gProduct.value) payload.product_id = Number(gProduct.value);
    const ack = await ask("giveaway:start", payload, gForm, {
      prize: "#giveaway-prize-input",
      product_id: "#giveaway-product",
      duration_s: "#giveaway-duration",
    });
    if (ack.ok) { giveaway = ack.giveaway; renderGiveaway(); }
  });
  const renderGiveaway = () => {
    gLive.textContent = giveaway ? `${giveaway.prize}: ${giveaway.entrants} entered` : "No giveaway running.";
  };

  // -- coupons -----------------------------------------------------------------------------
  const kind = el("select", { class: "input", id: "coupon-kind" }, el("option", { value: "percent" }, "% off"), el("option", { value: "amount" }, "amount off"));
  const value = el("input", { class: "input", id: "coupon-value", inputmode: "decimal", value: "10" });
  const total = el("input", { class: "input", id: "coupon-total", type: "number", min: "1", value: "20" });
  const after = el("input", { class: "input", id: "coupon-after", type: "number", min: "0", value: "0" });
  const cForm = el("form", { id: "coupon-form", novalidate: true }, field("Kind", kind), field("Value", value),
    field("How many", total), field("Minutes after the show", after),
    el("button", { type: "submit", class: "btn btn-primary btn-small", id: "coupon-drop" }, "Drop coupon"));
  cForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = kind.value === "percent" ? Math.round(Number(value.value)) : minor(value.value, currency);
    if (!v) return toast("Enter how much off", "error");
    const terms = { kind: kind.value, value: v, total_limit: Math.max(1, Number(total.value) || 1), after_show_minutes: Math.max(0, Number(after.value) || 0) };
    const ack = await ask("coupon:drop", terms, cForm, {
      kind: "#coupon-kind",
      value: "#coupon-value",
      total_limit: "#coupon-total",
      per_buyer_limit: "#coupon-total",
      after_show_minutes: "#coupon-after",
    });
    if (ack.ok) toast(`Coupon ${ack.coupon.code} is in the room`, "success");
  });

  const results = el("ul", { class: "formats-results", id: "formats-results", "aria-live": "polite" });
  container.replaceChildren(el("div", { class: "formats-panel", id: "formats-panel" },
    el("div", { class: "card" }, el("h3", { class: "card-title" }, "Auction"), live, cancel, form, el("div", { class: "row" }, nextButton), queueList),
    el("div", { class: "card" }, el("h3", { class: "card-title" }, "Giveaway"), gLive, gForm),
    el("div", { class: "card" }, el("h3", { class: "card-title" }, "Live coupon"), cForm),
    el("div", { class: "card" }, el("h3", { class: "card-title" }, "Results"), results)));
  saveQueue();
  renderLive();
  renderGiveaway();
  return { room, close: () => room.close() };
}
