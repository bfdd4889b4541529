// Sizes and colours: the chips a viewer taps to pick which variant of a product to buy.
// A product with variants (`product.variants`, from /api/products or a pinned card) is never
// bought itself: the picked variant's id is what goes to checkout, its price is what the
// buyer pays, and a sold-out variant's chip is shown crossed out and cannot be picked.

import { el } from "../ui.js";

/** Whether a product is sold by size or colour. */
export function hasVariants(product) {
  return Array.isArray(product?.variants) && product.variants.length > 0;
}

/** A variant's id, from a product (`id`) or a pinned card (`product_id`). */
export function variantId(variant) {
  return Number(variant.id ?? variant.product_id);
}

/** "size", "size and colour": what the buyer is asked to choose. */
export function optionWords(product) {
  const names = (product.options || []).map((o) => o.name.toLowerCase());
  return names.length ? names.join(" and ") : "option";
}

/** Whether a variant can still be bought (live units from a card, else its stock). */
export function isSoldOut(variant) {
  if (variant.sold_out === true) return true;
  const left = variant.units_left ?? variant.stock;
  return typeof left === "number" && left <= 0;
}

/**
 * The chips of a product's variants. `onPick(variant)` runs when one is tapped; the picked
 * chip is marked (aria-checked) unless `keepUnmarked` (a card whose chip opens the sheet).
 */
export function variantPicker(product, { selectedId = null, onPick, keepUnmarked = false, compact = false } = {}) {
  const chips = product.variants.map((variant) => {
    const soldOut = isSoldOut(variant);
    const chip = el(
      "button",
      {
        type: "button",
        role: "radio",
        class: compact ? "variant-chip is-compact" : "variant-chip",
        "aria-checked": String(variantId(variant) === selectedId),
        "aria-label": soldOut ? `${variant.label}, sold out` : variant.label,
        disabled: soldOut,
        dataset: { variantId: String(variantId(variant)), label: variant.label },
        onclick: (event) => {
          event.stopPropagation();
          if (!keepUnmarked) {
            for (const other of group.querySelectorAll(".variant-chip")) other.setAttribute("aria-checked", String(other === chip));
          }
          onPick?.(variant);
        },
      },
      variant.label,
    );
    return chip;
  });
  const group = el("div", { class: "variant-picker", role: "radiogroup", "aria-label": `Choose a ${optionWords(product)}` }, chips);
  return group;
}

/**
 * The <option>s of a seller's "which product" select (flash sales, auctions): a product,
 * or each size of one sold by size (a sale or an auction is of one variant).
 */
export function sellableOptions(products) {
  return products.map((p) =>
    hasVariants(p)
      ? el("optgroup", { label: p.title }, p.variants.map((v) => el("option", { value: String(v.id) }, `${p.title} - ${v.label} (${v.stock} left)`)))
      : el("option", { value: String(p.id) }, p.title),
  );
}

/** A product or one of its variants, by id, among a line-up's products. */
export function findSellable(products, id) {
  for (const p of products) {
    if (p.id === id) return p;
    const v = (p.variants || []).find((x) => x.id === id);
    if (v) return { ...v, title: `${p.title} - ${v.label}`, currency: p.currency };
  }
  return null;
}
