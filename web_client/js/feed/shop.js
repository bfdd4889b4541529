// The shopping bag of a clip, a post or a replay: its products, each with one-tap buy through
// POST /api/checkout/buy-now, attributed to the clip/post/replay, with an Idempotency-Key so a
// retried tap never orders twice. Asks once for an address when none is saved. A product
// sold by size or colour shows its chips: the one picked is what "Buy now" buys.

import { ApiError, api, currentUser, formatPrice, orderNumber } from "../api.js";
import { finishPayment } from "../checkout/card.js";
import { SHIP_FIELDS, loadProfile, profileFields } from "../checkout/profile.js";
import { priceNoteEl } from "../checkout/quote.js";
import { hasVariants, optionWords, variantPicker } from "../checkout/variants.js";
import { showFieldError } from "../forms.js";
import { busy, el, openSheet, replaceChildren, toast } from "../ui.js";

function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function loginUrl() {
  return `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
}

// The shared checkout form (js/checkout/profile.js), asked once when nothing is saved.
async function profileForm(container) {
  const { box, save } = profileFields(await loadProfile());
  return new Promise((resolve) => {
    const error = el("div", { class: "form-error", role: "alert", hidden: true });
    const submit = el("button", { type: "submit", class: "btn btn-primary btn-block", id: "save-profile" }, "Save and buy");
    const form = el(
      "form",
      { class: "stack", id: "checkout-profile-form", novalidate: true },
      el("p", { class: "muted" }, "Where should we send it? Saved for one-tap buying next time."),
      box,
      error,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        await busy(submit, save);
        resolve(true);
      } catch (err) {
        showFieldError(form, err, { box: error, fields: SHIP_FIELDS });
      }
    });
    replaceChildren(container, form);
  });
}

async function buy(item, product, button, status) {
  const user = await currentUser();
  if (!user) {
    location.href = loginUrl();
    return;
  }
  // One key per purchase intent: a retry of the same tap reuses it.
  button.dataset.idempotencyKey ||= newKey();
  const request = () =>
    api("/api/checkout/buy-now", {
      body: { product_id: product.id, quantity: 1, source: { type: item.type, id: item.id } },
      headers: { "Idempotency-Key": button.dataset.idempotencyKey },
    });
  try {
    let result;
    try {
      result = await busy(button, request);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== "checkout_profile_required") throw err;
      const form = el("div");
      status.replaceWith(form);
      await profileForm(form);
      form.replaceWith(status);
      result = await busy(button, request);
    }
    const order = result && result.order ? await finishPayment(result.order) : {};
    button.replaceWith(el("span", { class: "bag-done", dataset: { orderId: order.id || "" } }, "Ordered ✓"));
    status.textContent = order.id ? `Order ${orderNumber(order.id)} placed.` : "Order placed.";
    toast(`${product.title}: ordered!`, "success");
  } catch (err) {
    delete button.dataset.idempotencyKey;
    toast(err.message || "Could not buy right now.", "error");
  }
}

// One line under a bag item: what it costs delivered, as the server quotes it.
function quoteLine(product, line) {
  currentUser()
    .then((user) => (user ? api("/api/checkout/quote", { body: { product_id: product.id } }) : null))
    .then((q) => {
      if (!q) return;
      const money = (minor) => formatPrice(minor, q.currency);
      if (q.shipping_minor === null) {
        line.textContent = "Shipping and tax are worked out from your address.";
        return;
      }
      const shipping = q.shipping_minor ? `${money(q.shipping_minor)} shipping` : "free shipping";
      const tax = q.tax_minor ? (q.tax_included ? ` (incl. ${money(q.tax_minor)} VAT)` : ` + ${money(q.tax_minor)} tax`) : "";
      line.textContent = `${money(q.total_minor)} with ${shipping}${tax}`;
    })
    .catch((err) => {
      line.textContent = err.message || "";
    });
}

/** Open the bag sheet of a feed item. */
export function openBag(item) {
  const status = el("p", { class: "muted small", id: "bag-status", role: "status" });
  const rows = (item.products || []).map((product) => {
    const sized = hasVariants(product);
    let chosen = sized ? null : product; // what "Buy now" buys: the product, or the size picked
    const button = el("button", { type: "button", class: "btn btn-primary btn-small bag-buy", dataset: { productId: String(product.id) }, disabled: sized }, "Buy now");
    button.addEventListener("click", () => chosen && buy(item, chosen, button, status));
    const delivered = el("div", { class: "small muted bag-quote" });
    const price = el("span", {}, formatPrice(product.price_minor, product.currency));
    if (product.stock > 0 && !sized) quoteLine(product, delivered);
    const picker =
      sized && product.stock > 0
        ? variantPicker(product, {
            onPick: (variant) => {
              if (chosen !== variant) delete button.dataset.idempotencyKey; // another size, another purchase
              chosen = variant;
              button.disabled = false;
              price.textContent = formatPrice(variant.price_minor, product.currency);
              quoteLine(variant, delivered);
            },
          })
        : null;
    if (sized && product.stock > 0) delivered.textContent = `Choose a ${optionWords(product)}.`;
    return el(
      "li",
      { class: "bag-item", dataset: { productId: String(product.id) } },
      product.images && product.images[0] ? el("img", { src: product.images[0], alt: "" }) : el("span", { class: "thumb" }),
      el("div", {}, el("div", { class: "title" }, product.title), el("div", { class: "price" }, price, " ", priceNoteEl()), picker, delivered, product.stock <= 5 ? el("div", { class: "stock-low" }, product.stock ? `Only ${product.stock} left` : "Sold out") : null),
      product.stock > 0 ? button : el("span", { class: "muted small" }, "Sold out"),
    );
  });
  const titles = { clip: "Shop this clip", post: "Shop this post", live: "Shop this show", replay: "Shop this show" };
  openSheet({ title: titles[item.type] || "Shop", id: "bag-sheet", content: [el("ul", { class: "bag-list list" }, rows), status] });
}
