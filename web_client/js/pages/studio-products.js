// Studio "Products" tab: my products, the create form and image upload.
// Also the shared cache of my products that the line-up pickers use.

import { ApiError, api, formatPrice, toMinor } from "../api.js";
import { clearFormErrors, showFieldError } from "../forms.js";
import { busy, closeSheet, cover, el, emptyState, icon, openSheet, replaceChildren, showError, skeletons, toast } from "../ui.js";
import { openProductEditor } from "./product-editor.js";

const CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "PLN", "JPY"];
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

let productsPromise = null;
let interestsPromise = null;

/** My products (GET /api/products?owner=me), cached until `refresh`. */
export function myProducts({ refresh = false } = {}) {
  if (!productsPromise || refresh) {
    productsPromise = api("/api/products?owner=me")
      .then((data) => (data && data.items) || [])
      .catch((err) => {
        productsPromise = null;
        throw err;
      });
  }
  return productsPromise;
}

function categories() {
  if (!interestsPromise) {
    interestsPromise = api("/api/interests")
      .then((data) => (data && data.interests) || [])
      .catch(() => []);
  }
  return interestsPromise;
}

/** A product thumbnail: the first image or a gradient. */
export function productThumb(product, className = "thumb") {
  const image = product.images && product.images[0];
  if (image) return el("img", { class: className, src: image, alt: "", loading: "lazy", style: { "object-fit": "cover" } });
  return cover(null, product.title, className);
}

async function uploadImage(product, file) {
  if (!file.type.startsWith("image/")) {
    toast("Choose an image file (JPEG, PNG or WebP).", "error");
    return;
  }
  if (file.size > MAX_IMAGE_BYTES) {
    toast("That image is too large (8 MB max).", "error");
    return;
  }
  try {
    await api(`/api/products/${product.id}/images`, {
      method: "POST",
      body: file,
      raw: true,
      headers: { "Content-Type": file.type },
    });
    await renderProducts({ refresh: true });
    toast("Image added", "success");
  } catch (err) {
    toast(err instanceof ApiError ? err.message : "Upload failed", "error");
  }
}

async function changed() {
  await renderProducts({ refresh: true });
  document.dispatchEvent(new CustomEvent("liveshop:products-changed"));
}

function productRow(product) {
  const input = el("input", { type: "file", accept: "image/jpeg,image/png,image/webp,image/gif", hidden: true });
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (file) busy(upload, () => uploadImage(product, file));
    input.value = "";
  });
  const upload = el(
    "button",
    { type: "button", class: "btn btn-ghost btn-small", dataset: { action: "upload" }, onclick: () => input.click() },
    icon("image"),
    "Add image",
  );
  const stock = product.stock <= 0 ? el("span", { class: "stock-low" }, "Sold out") : `${product.stock} in stock`;
  return el(
    "li",
    { class: "product", dataset: { productId: String(product.id) } },
    productThumb(product, "product-img"),
    el(
      "div",
      { class: "product-body" },
      el("div", { class: "product-title" }, product.title),
      el("div", { class: "row small muted" }, el("span", { class: "price" }, formatPrice(product.price_minor, product.currency)), el("span", {}, "·"), el("span", {}, stock)),
      el("div", { class: "small muted", style: { "text-transform": "capitalize" } }, product.category || ""),
      el(
        "div",
        { class: "row", style: { "margin-top": "6px" } },
        el("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { action: "edit" }, onclick: () => openProductEditor(product, changed) }, "Edit"),
        upload,
        input,
      ),
    ),
  );
}

/** Render the products tab. */
export async function renderProducts({ refresh = false } = {}) {
  const list = document.getElementById("my-products");
  if (!list.children.length) replaceChildren(list, skeletons(3, "skeleton skeleton-row"));
  list.setAttribute("aria-busy", "true");
  try {
    const products = await myProducts({ refresh });
    if (products.length === 0) {
      list.classList.remove("grid");
      const add = el("button", { type: "button", class: "btn btn-primary btn-small", onclick: openProductForm }, "Create your first product");
      replaceChildren(list, el("li", {}, emptyState("No products yet", "Add the products you want to sell in your shows.", { iconName: "bag", action: add })));
    } else {
      list.classList.add("grid");
      // Newest first: the product just created is the one the host wants to work on.
      const newest = [...products].sort((a, b) => b.id - a.id);
      replaceChildren(list, newest.map(productRow));
    }
  } catch (err) {
    replaceChildren(list, el("li", {}, emptyState("Could not load products", err.message, { iconName: "refresh" })));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function field(label, control, hint) {
  return el("label", { class: "field" }, el("span", {}, label), control, hint ? el("span", { class: "hint" }, hint) : null);
}

/** Parse "12.5" into minor units for a currency; null when not a valid amount. */
/** Open the "New product" form in a bottom sheet. */
export async function openProductForm() {
  const errorBox = el("div", { class: "form-error", role: "alert", hidden: true });
  const list = el("datalist", { id: "category-options" });
  categories().then((names) => replaceChildren(list, names.map((n) => el("option", { value: n }))));
  const form = el(
    "form",
    { id: "product-form", novalidate: true },
    errorBox,
    field("Title", el("input", { name: "title", required: true, maxlength: "120" })),
    field("Description", el("textarea", { name: "description", maxlength: "2000" })),
    el(
      "div",
      { class: "field-row" },
      field("Price", el("input", { name: "price", inputmode: "decimal", placeholder: "19.99", required: true })),
      field("Currency", el("select", { name: "currency" }, CURRENCIES.map((c) => el("option", { value: c }, c)))),
    ),
    field("Category", el("input", { name: "category", list: "category-options", autocapitalize: "none" })),
    list,
    el(
      "div",
      { class: "field-row" },
      field("Stock", el("input", { name: "stock", type: "number", min: "0", step: "1", value: "10" })),
      field("Limit per buyer", el("input", { name: "per_buyer_limit", type: "number", min: "1", step: "1", placeholder: "No limit" })),
    ),
    el("button", { type: "submit", class: "btn btn-primary btn-block", id: "product-submit" }, "Create product"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(form, errorBox);
    const refuse = (name, message) => showFieldError(form, { field: name, message }, { box: errorBox });
    const currency = form.currency.value;
    const price = toMinor(form.price.value, currency);
    const stock = Number.parseInt(form.stock.value, 10);
    const limitText = form.per_buyer_limit.value.trim();
    const limit = limitText ? Number.parseInt(limitText, 10) : null;
    if (!form.title.value.trim()) return refuse("title", "Give the product a title.");
    if (price === null) return refuse("price", "Enter a price like 19.99.");
    if (!Number.isInteger(stock) || stock < 0) return refuse("stock", "Stock must be 0 or more.");
    if (limit !== null && (!Number.isInteger(limit) || limit < 1)) return refuse("per_buyer_limit", "The limit per buyer must be at least 1.");
    const body = {
      title: form.title.value.trim(),
      description: form.description.value.trim(),
      price_minor: price,
      currency,
      category: form.category.value.trim(),
      stock,
      per_buyer_limit: limit,
    };
    try {
      const product = await busy(form.querySelector("#product-submit"), () => api("/api/products", { body }));
      closeSheet();
      await renderProducts({ refresh: true });
      toast(`“${product.title}” created`, "success");
      document.dispatchEvent(new CustomEvent("liveshop:products-changed"));
    } catch (err) {
      if (err instanceof ApiError) showFieldError(form, err, { box: errorBox, fields: { price_minor: '[name="price"]' } });
      else showError(errorBox, "Could not create the product.");
    }
  });
  openSheet({ title: "New product", content: form, id: "product-sheet" });
}
