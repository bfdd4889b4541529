// Small form pieces the studio shares: product tick lists and username lists.

import { el } from "../ui.js";
import { productThumb } from "./studio-products.js";

let tickCounter = 0;

/** A labelled form field. */
export function field(label, control, hint) {
  return el("label", { class: "field" }, el("span", {}, label), control, hint ? el("span", { class: "hint" }, hint) : null);
}

/** A product row with a checkbox named `name`; remembers the order in which boxes get ticked. */
export function productCheck(product, checked, name) {
  const input = el("input", { type: "checkbox", name, value: String(product.id), checked });
  input.addEventListener("change", () => {
    tickCounter += 1;
    input.dataset.order = String(tickCounter);
  });
  return el(
    "label",
    { class: "check", dataset: { productId: String(product.id) } },
    input,
    productThumb(product),
    el(
      "div",
      { class: "grow" },
      el("div", { class: "product-title" }, product.title),
      el("div", { class: "small muted" }, product.category || ""),
    ),
  );
}

/** Ticked product ids in display order; newly ticked ones go last, in the order they were ticked. */
export function checkedIds(container, name) {
  const inputs = [...container.querySelectorAll(`input[name="${name}"]:checked`)];
  const kept = inputs.filter((i) => !i.dataset.order);
  const added = inputs
    .filter((i) => i.dataset.order)
    .sort((a, b) => Number(a.dataset.order) - Number(b.dataset.order));
  return [...kept, ...added].map((i) => Number(i.value));
}

/** "@ana, bob  carl" -> ["ana", "bob", "carl"]. */
export function parseUsernames(text) {
  return String(text)
    .split(/[\s,]+/)
    .map((u) => u.replace(/^@/, "").trim())
    .filter(Boolean);
}
