// The show's auctions on its replay: an auction card over the video that follows the media
// time (the starting bid, then the lead after each bid, then "Sold to Ana for $42"), and
// the moments on a strip under the video, so a viewer can jump to a bidding war. The data
// is the server's stored audit trail (/api/sessions/{id}/auctions/timeline), placed by
// media time, the same clock the chat and the product cards use.

import { formatPrice } from "../api.js";
import { el, replaceChildren } from "../ui.js";

export const RESULT_SHOWN_S = 8; // the result stays on the card this long after the end

// The auction running (or just ended) at media time t, and its state then.
export function auctionAt(auctions, t) {
  for (const a of auctions) {
    if (a.start == null || t < a.start) continue;
    const end = a.end ?? Number.POSITIVE_INFINITY;
    if (t >= end + RESULT_SHOWN_S) continue;
    let lead = null;
    for (const l of a.leads) {
      if (l.media_time > t) break;
      lead = l;
    }
    return { auction: a, lead, ended: t >= end };
  }
  return null;
}

function leaderLine(auction, lead) {
  if (!lead) return "No bids yet";
  const bids = lead.bids === 1 ? "1 bid" : `${lead.bids} bids`;
  return `${lead.leader || "A bidder"} leads · ${bids}`;
}

export function renderAuctionCard(box, auctions, t) {
  const now = auctionAt(auctions, t);
  const key = now ? `${now.auction.id}:${now.lead ? now.lead.bids : 0}:${now.ended}` : "";
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.hidden = !now;
  if (!now) {
    box.replaceChildren();
    return;
  }
  const { auction, lead, ended } = now;
  const price = lead ? lead.price_minor : auction.start_price_minor;
  const label = ended ? "Final bid" : lead ? "Leading bid" : "Starting bid";
  box.dataset.auctionId = String(auction.id);
  box.dataset.state = ended ? "ended" : "running";
  replaceChildren(
    box,
    el("div", { class: "auction-head" }, el("span", { class: "auction-tag" }, ended ? "Auction ended" : "Auction"), el("span", { class: "auction-title" }, auction.title)),
    el("div", { class: "auction-row" }, el("div", {}, el("div", { class: "muted small" }, label), el("div", { class: "auction-price" }, formatPrice(price, auction.currency)))),
    ended && auction.result_text
      ? el("div", { class: "auction-me", dataset: { role: "result" } }, auction.result_text)
      : el("div", { class: "auction-leader", dataset: { role: "leader" } }, leaderLine(auction, lead)),
  );
}

// Chapters-list rows for the auctions (jump to the start), with the product's picture.
export function auctionRows(auctions, { clock, seek, picture }) {
  return auctions
    .filter((a) => a.start != null)
    .map((a) =>
      el(
        "li",
        { class: "list-item chapter chapter-auction", tabindex: "0", role: "button", dataset: { start: String(a.start), auctionId: String(a.id) }, onclick: () => seek(a.start), onkeydown: (e) => (e.key === "Enter" ? seek(a.start) : null) },
        picture(a.product_id),
        el("div", {}, el("div", { class: "title" }, `Auction · ${a.title}`), el("div", { class: "muted small" }, a.result_text || (a.leads.length ? `${a.leads.length} leads` : "Running"))),
        el("span", { class: "time badge badge-soft" }, clock(a.start)),
      ),
    );
}

// Marks on a strip under the video: product pins and auctions, at their share of the length.
export function renderMarks(strip, { duration, pins, auctions, clock, seek }) {
  if (!Number.isFinite(duration) || duration <= 0) {
    strip.hidden = true;
    return;
  }
  const marks = [
    ...pins.map((c) => ({ t: c.start, kind: "pin", label: `${c.product.title} at ${clock(c.start)}` })),
    ...auctions.filter((a) => a.start != null).map((a) => ({ t: a.start, kind: "auction", label: `Auction: ${a.title} at ${clock(a.start)}` })),
  ].filter((m) => m.t >= 0 && m.t <= duration);
  strip.hidden = !marks.length;
  replaceChildren(
    strip,
    marks.map((m) =>
      el("button", {
        type: "button",
        class: `replay-mark replay-mark-${m.kind}`,
        style: { left: `${((m.t / duration) * 100).toFixed(2)}%` },
        title: m.label,
        "aria-label": m.label,
        dataset: { kind: m.kind, t: String(m.t) },
        onclick: () => seek(m.t),
      }),
    ),
  );
}
