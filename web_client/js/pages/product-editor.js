// The product editor (a bottom sheet from the studio's product list): title, description,
// price, stock, category, limit per buyer and the images (add, remove). PATCH
// /api/products/{id} saves the fields; the server judges every value and names the field
// it refuses, which is shown under that input. Sizes and colours, each with its own stock,
// are edited below the images (js/pages/variant-editor.js).

import { ApiError, amountText, api, toMinor } from "../api.js";
import { clearFormErrors, showFieldError } from "../forms.js";
import { busy, closeSheet, el, icon, openSheet, replaceChildren, showError, toast } from "../ui.js";
import { variantSection } from "./variant-editor.js";

const IMAGE_TYPES = "image/jpeg,image/png,image/webp,image/gif";
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
const MAX_IMAGES = 8;

function field(label, control, hint) {
  return el("label", { class: "field" }, el("span", {}, label), control, hint ? el("span", { class: "hint" }, hint) : null);
}

function imageStrip(product, onChange) {
  const strip = el("div", { class: "editor-images", id: "editor-images" });
  const render = () => {
    const input = el("input", { type: "file", accept: IMAGE_TYPES, hidden: true, id: "editor-image-file" });
    const add = el("button", { type: "button", class: "btn btn-ghost btn-small", id: "editor-add-image", disabled: product.images.length >= MAX_IMAGES, onclick: () => input.click() }, icon("image"), "Add image");
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      input.value = "";
      if (!file) return;
      if (file.size > MAX_IMAGE_BYTES) return toast("That image is too large (8 MB max).", "error");
      try {
        const updated = await busy(add, () =>
          api(`/api/products/${product.id}/images`, { method: "POST", body: file, raw: true, headers: { "Content-Type": file.type || "application/octet-stream" } }).then((r) => r.json()),
        );
        product.images = updated.images;
        render();
        onChange();
      } catch (err) {
        toast(err instanceof ApiError ? err.message : "The upload failed.", "error");
      }
    });
    const thumbs = product.images.map((url, index) =>
      el(
        "div",
        { class: "editor-image", dataset: { position: String(index + 1) } },
        el("img", { src: url, alt: `Image ${index + 1}` }),
        el("button", {
          type: "button",
          class: "chip-x",
          "aria-label": `Remove image ${index + 1}`,
          onclick: async (event) => {
            try {
              const updated = await busy(event.currentTarget, () => api(`/api/products/${product.id}/images/${index + 1}`, { method: "DELETE" }));
              product.images = updated.images;
              render();
              onChange();
            } catch (err) {
              toast(err instanceof ApiError ? err.message : "Could not remove the image.", "error");
            }
          },
        }, icon("close")),
      ),
    );
    replaceChildren(strip, thumbs, el("div", { class: "editor-image-add" }, add, input));
  };
  render();
  return strip;
}

/**
 * Open the editor for `product`. `onSaved(product)` runs after a change was stored (also
 * after an image was added or removed).
 */
export function openProductEditor(product, onSaved = () => {}) {
  const current = { ...product, images: [...(product.images || [])] };
  const errorBox = el("div", { class: "form-error", role: "alert", hidden: true });
  const form = el(
    "form",
    { id: "product-editor", novalidate: true, dataset: { productId: String(product.id) } },
    errorBox,
    field("Title", el("input", { name: "title", id: "editor-title", required: true, maxlength: "120", value: current.title })),
    field("Description", el("textarea", { name: "description", id: "editor-description", maxlength: "4000" }, current.description || "")),
    el(
      "div",
      { class: "field-row" },
      field(`Price (${current.currency})`, el("input", { name: "price", id: "editor-price", inputmode: "decimal", required: true, value: amountText(current.price_minor, current.currency) })),
      field("Stock", el("input", { name: "stock", id: "editor-stock", type: "number", min: "0", step: "1", value: String(current.stock), disabled: (current.variants || []).length > 0 }), (current.variants || []).length ? "Counted per size or colour below." : null),
    ),
    el(
      "div",
      { class: "field-row" },
      field("Limit per buyer", el("input", { name: "per_buyer_limit", id: "editor-limit", type: "number", min: "1", step: "1", placeholder: "No limit", value: current.per_buyer_limit ?? "" })),
      field("Weight (grams, for shipping)", el("input", { name: "weight_g", id: "editor-weight", type: "number", min: "0", step: "1", value: String(current.weight_g ?? 0) })),
    ),
    el("div", { class: "field" }, el("span", { class: "label" }, "Images"), imageStrip(current, () => onSaved(current))),
    variantSection(current, (fresh) => {
      const stockInput = form.querySelector("#editor-stock");
      stockInput.disabled = fresh.variants.length > 0;
      stockInput.value = String(fresh.stock);
      onSaved(fresh);
    }),
    el("button", { type: "submit", class: "btn btn-primary btn-block", id: "editor-save" }, "Save changes"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(form, errorBox);
    const refuse = (name, message) => showFieldError(form, { field: name, message }, { box: errorBox });
    const title = form.title.value.trim();
    const price = toMinor(form.price.value, current.currency);
    const stock = Number.parseInt(form.stock.value, 10);
    const limitText = form.per_buyer_limit.value.trim();
    const limit = limitText ? Number.parseInt(limitText, 10) : null;
    const weight = Number.parseInt(form.weight_g.value || "0", 10);
    if (!title) return refuse("title", "Give the product a title.");
    if (price === null || price <= 0) return refuse("price", "Enter a price above zero, like 19.99.");
    if (!Number.isInteger(stock) || stock < 0) return refuse("stock", "Stock must be 0 or more.");
    if (limit !== null && (!Number.isInteger(limit) || limit < 1)) return refuse("per_buyer_limit", "The limit per buyer must be at least 1.");
    if (!Number.isInteger(weight) || weight < 0) return refuse("weight_g", "Enter the weight in grams, 0 or more.");
    const body = { title, description: form.description.value.trim(), price_minor: price, per_buyer_limit: limit, weight_g: weight };
    if (!(current.variants || []).length) body.stock = stock; // else counted per variant
    try {
      const saved = await busy(form.querySelector("#editor-save"), () => api(`/api/products/${product.id}`, { method: "PATCH", body }));
      closeSheet();
      toast(`“${saved.title}” saved`, "success");
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError) showFieldError(form, err, { box: errorBox, fields: { price_minor: '[name="price"]' } });
      else showError(errorBox, "Could not save the product.");
    }
  });
  openSheet({ title: "Edit product", content: form, id: "product-editor-sheet" });
}
