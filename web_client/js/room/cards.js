// Pinned product cards: image, title, price, stock left and a Buy button. The Buy button
// carries data-product-id and dispatches `liveshop:buy` ({productId, sessionId}) on
// document; the checkout module listens for it. A product sold by size or colour shows a
// chip per variant (sold-out ones crossed out): tapping one opens the sheet with it picked
// (`variantId` in the event).

import { formatPrice } from "../api.js";
import { priceNoteEl } from "../checkout/quote.js";
import { hasVariants, variantPicker } from "../checkout/variants.js";
import { cover, el } from "../ui.js";

function buyEvent(productId, sessionId, variantId = null) {
  const detail = variantId ? { productId, sessionId, variantId } : { productId, sessionId };
  document.dispatchEvent(new CustomEvent("liveshop:buy", { detail }));
}

function stockText(card) {
  const left = card.units_left ?? card.stock;
  if (typeof left !== "number") return null;
  if (left <= 0) return el("span", { class: "stock-low" }, "Sold out");
  if (left <= 10) return el("span", { class: "stock-low" }, `Only ${left} left`);
  return el("span", { class: "muted" }, `${left} in stock`);
}

/** One pinned card. */
export function pinnedCard(card, sessionId, { compact = false } = {}) {
  const soldOut = card.sold_out === true || (card.units_left ?? card.stock) <= 0;
  const buy = el(
    "button",
    {
      type: "button",
      class: "btn btn-primary btn-small pinned-buy",
      dataset: { productId: String(card.product_id) },
      disabled: soldOut,
      onclick: () => buyEvent(card.product_id, sessionId),
    },
    soldOut ? "Sold out" : "Buy",
  );
  return el(
    "article",
    { class: compact ? "pinned-card is-compact" : "pinned-card", dataset: { productId: String(card.product_id) } },
    card.image ? el("img", { class: "pinned-img", src: card.image, alt: "" }) : cover(null, card.title, "pinned-img"),
    el(
      "div",
      { class: "pinned-body" },
      el("div", { class: "pinned-title" }, card.title),
      el("div", { class: "row small" }, el("span", { class: "price" }, formatPrice(card.price_minor, card.currency)), priceNoteEl(), stockText(card)),
      hasVariants(card) && !soldOut
        ? variantPicker(card, { compact: true, keepUnmarked: true, onPick: (v) => buyEvent(card.product_id, sessionId, v.product_id) })
        : null,
    ),
    buy,
  );
}

/** Render the pinned cards into `container` (replacing what was there). */
export function renderCards(container, cards, sessionId, options) {
  container.replaceChildren(...cards.map((c) => pinnedCard(c, sessionId, options)));
}
