// What a purchase costs, as the server works it out (POST /api/checkout/quote): subtotal,
// shipping, tax and total, shown on every sheet that buys, and the store's price note
// ("incl. VAT" or "plus tax") shown next to prices on cards (GET /api/checkout/pricing).

import { api, formatPrice } from "../api.js";
import { el, replaceChildren } from "../ui.js";

let pricing = null;

/** The store's price note, fetched once ("incl. VAT" or "plus tax"; "" if unknown). */
export function priceNote() {
  pricing ??= api("/api/checkout/pricing").then((p) => p.note || "").catch(() => "");
  return pricing;
}

/** A small span next to a price that fills in with the store's price note. */
export function priceNoteEl() {
  const note = el("span", { class: "price-note muted" });
  priceNote().then((text) => {
    note.textContent = text;
  });
  return note;
}

const row = (label, value, attrs = {}) => el("div", { class: "quote-row", ...attrs }, el("span", {}, label), el("span", {}, value));

/** The breakdown of an order or a quote (both carry the same amounts). */
export function breakdown(amounts) {
  const money = (minor) => formatPrice(minor, amounts.currency);
  const rows = [row("Subtotal", money(amounts.subtotal_minor), { dataset: { part: "subtotal" } })];
  if (amounts.discount_minor) rows.push(row("Coupon", `−${money(amounts.discount_minor)}`, { dataset: { part: "discount" } }));
  if (amounts.shipping_minor === null || amounts.shipping_minor === undefined) {
    rows.push(row("Shipping", "Worked out from your address", { dataset: { part: "shipping" } }));
  } else {
    rows.push(row("Shipping", amounts.shipping_minor ? money(amounts.shipping_minor) : "Free", { dataset: { part: "shipping" } }));
  }
  if (amounts.tax_minor) {
    const label = amounts.tax_included ? "Includes VAT" : "Tax";
    rows.push(row(label, money(amounts.tax_minor), { dataset: { part: "tax" } }));
  }
  rows.push(row("Total", money(amounts.total_minor), { class: "quote-row quote-total", dataset: { part: "total" } }));
  return rows;
}

/**
 * The quote box of a sheet: update(body) asks the server (`{product_id, quantity}` or `{}`
 * for the cart, an `address` when the buyer is typing one) and shows the breakdown, or the
 * reason it cannot ship. Resolves with the quote (null when refused).
 */
export function quoteBox() {
  const box = el("div", { class: "quote", id: "quote", "aria-live": "polite" });
  let asked = 0;
  const update = async (body = {}) => {
    const mine = ++asked;
    try {
      const quote = await api("/api/checkout/quote", { body });
      if (mine !== asked) return null; // a newer question is on its way
      replaceChildren(box, breakdown(quote));
      box.dataset.total = String(quote.total_minor);
      return quote;
    } catch (err) {
      if (mine !== asked) return null;
      replaceChildren(box, el("p", { class: "form-error", id: "quote-error" }, err.message || "We couldn't work out shipping right now."));
      delete box.dataset.total;
      return null;
    }
  };
  return { box, update };
}
