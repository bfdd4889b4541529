// Buying during a live show, without leaving (or pausing) the video.
//
// - Listens for `liveshop:buy` ({productId, sessionId, variantId}) from the pinned cards and adds a
//   Buy button to every line-up product; opens a bottom sheet with one-tap buy (saved
//   address and payment method) or add-to-cart. Every checkout carries an Idempotency-Key,
//   kept for the sheet's lifetime, so a retried tap never orders twice. A product sold by
//   size or colour is bought as the variant picked in the sheet (or tapped on the card).
// - A bag button on the stage opens the cart (session/cart.js); checkout turns it into one order.
// - Reads the room tick's "commerce" section (`liveshop:tick`): flash-sale countdowns and
//   units left on the pinned cards, "N bought in the last minute" and opt-in
//   "<first name> just bought <product>".
// - Reports card views and clicks for the host's analytics.

import { ApiError, api, currentUser, formatPrice } from "../api.js";
import { showFieldError } from "../forms.js";
import { ready } from "../pages/session.js";
import { busy, closeSheet, cover, el, icon, openSheet, replaceChildren, showError, toast } from "../ui.js";
import { finishPayment } from "../checkout/card.js";
import { SHIP_FIELDS, loadProfile, shippingBlock } from "../checkout/profile.js";
import { priceNoteEl, quoteBox } from "../checkout/quote.js";
import { hasVariants, isSoldOut, optionWords, variantPicker } from "../checkout/variants.js";
import { openCart, showConfirmation } from "./cart.js";
import { couponFor } from "./offers.js";

if (!document.querySelector('link[href="/css/shop.css"]')) {
  document.head.append(el("link", { rel: "stylesheet", href: "/css/shop.css" }));
}

const state = {
  sessionId: null,
  user: null,
  products: new Map(), // id -> product (from the session's line-up)
  sales: new Map(), // product id -> sale from the latest tick
  offsetMs: 0, // server clock - local clock
  viewed: new Set(),
};

function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function viewerKey() {
  let key = sessionStorage.getItem("liveshop.viewer");
  if (!key) {
    key = newKey();
    sessionStorage.setItem("liveshop.viewer", key);
  }
  return key;
}

function track(kind, productId) {
  if (!state.sessionId) return;
  api(`/api/sessions/${state.sessionId}/events`, {
    body: { kind, product_id: productId },
    headers: { "X-Viewer-Key": viewerKey() },
  }).catch(() => {}); // analytics never get in the way of watching
}

function loginUrl() {
  return `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function secondsLeft(sale) {
  return (sale.ends_at_epoch * 1000 - (Date.now() + state.offsetMs)) / 1000;
}

function liveSale(productId) {
  const sale = state.sales.get(productId);
  return sale && sale.status !== "ended" && secondsLeft(sale) > 0 ? sale : null;
}

// ---------- stage: bag and social proof ----------

const stage = document.getElementById("stage");
const bagCount = el("span", { class: "bag-count", id: "bag-count" });
const bag = el(
  "button",
  { type: "button", class: "stage-button shop-bag", id: "shop-bag", "aria-label": "Your cart", hidden: true, onclick: () => openCart(cartContext) },
  icon("bag"),
  bagCount,
);
const proofCount = el("div", { class: "proof-pill", id: "proof-count" });
const proofRecent = el("div", { class: "proof-pill", id: "proof-recent" });
stage?.append(bag, el("div", { class: "proof", "aria-live": "polite" }, proofCount, proofRecent));

function setBag(count) {
  bagCount.textContent = count ? String(count) : "";
  bag.hidden = !count; // the cart button shows once something is in the cart
}

async function refreshBag() {
  if (!state.user) return;
  try {
    const cart = await api("/api/cart");
    setBag(cart.count);
  } catch {
    /* the bag count is a nicety */
  }
}

function showProof(commerce) {
  const n = commerce.bought_last_minute || 0;
  proofCount.textContent = n ? `${n} bought in the last minute` : "";
  const recent = (commerce.just_bought || []).at(-1);
  proofRecent.textContent = recent ? `${recent.first_name} just bought ${recent.product_title}` : "";
}

// ---------- pinned cards: sale badge, countdown, units left ----------

function decorateCards() {
  for (const card of document.querySelectorAll("#pinned-cards .pinned-card[data-product-id]")) {
    const productId = Number(card.dataset.productId);
    if (!state.viewed.has(productId)) {
      state.viewed.add(productId);
      track("card_view", productId);
    }
    // a sale on the product, or on one of its sizes (named on the badge)
    const chips = [...card.querySelectorAll(".variant-chip[data-variant-id]")];
    const sizeOnSale = chips.find((chip) => state.sales.has(Number(chip.dataset.variantId)));
    const sale = state.sales.get(productId) || (sizeOnSale ? state.sales.get(Number(sizeOnSale.dataset.variantId)) : null);
    let badge = card.querySelector(".sale-badge");
    if (!sale) {
      badge?.remove();
      card.classList.remove("has-sale", "is-sold-out");
      continue;
    }
    if (!badge) {
      badge = el("div", { class: "sale-badge" });
      (card.querySelector(".pinned-body") || card).append(badge);
    }
    badge.dataset.status = sale.status;
    badge.dataset.ends = String(sale.ends_at_epoch);
    const left = Math.max(0, sale.remaining);
    const what = sizeOnSale && !state.sales.has(productId) ? ` · ${sizeOnSale.dataset.label}` : "";
    const label = (sale.status === "ended" ? "Sale ended" : sale.status === "sold_out" ? "Sold out" : "Flash sale") + what;
    replaceChildren(
      badge,
      el("span", { class: "sale-tag" }, label),
      sale.status === "active" ? el("span", { class: "sale-price" }, formatPrice(sale.price_minor, sale.currency)) : null,
      sale.status === "active" ? el("span", { class: "sale-clock", "aria-label": "time left" }, clock(secondsLeft(sale))) : null,
      sale.status === "active" ? el("span", { class: "sale-left visually-hidden" }, `${left} left`) : null,
    );
    card.classList.toggle("is-sold-out", sale.status === "sold_out" && !what);
    card.classList.toggle("has-sale", sale.status === "active");
  }
}

setInterval(() => {
  for (const badge of document.querySelectorAll(".sale-badge[data-status='active']")) {
    const sale = { ends_at_epoch: Number(badge.dataset.ends) };
    const clockNode = badge.querySelector(".sale-clock");
    if (clockNode) clockNode.textContent = clock(secondsLeft(sale));
  }
}, 250);

document.addEventListener("liveshop:tick", (event) => {
  const commerce = event.detail && event.detail.commerce;
  if (commerce) {
    state.offsetMs = commerce.server_time * 1000 - Date.now();
    state.sales = new Map((commerce.sales || []).map((s) => [s.product_id, s]));
    showProof(commerce);
  }
  decorateCards();
});

// ---------- checkout profile: the shared form (js/checkout/profile.js) ----------

function errorText(err) {
  if (err instanceof ApiError) {
    if (err.code === "sold_out") return "Sold out: every unit has been claimed.";
    if (err.code === "limit_reached") return err.message || "You have reached the limit for this product.";
  }
  return err.message || "Something went wrong";
}

async function productById(productId) {
  const known = state.products.get(productId);
  // sizes sell out one by one during a show: their stock is read fresh for each sheet
  if (!known || hasVariants(known)) state.products.set(productId, await api(`/api/products/${productId}`));
  return state.products.get(productId);
}

/**
 * Make sure someone is signed in without leaving the show: the log-in page opens in a new
 * tab (it shares this page's storage), and "Continue" picks the new session up here.
 * Resolves true once signed in.
 */
async function ensureUser() {
  if (state.user) return true;
  state.user = await currentUser({ refresh: true });
  if (state.user) return true;
  return new Promise((resolve) => {
    let done = false;
    const note = el("p", { class: "form-error", role: "alert", hidden: true }, "Still not signed in. Log in first, then continue.");
    const next = el(
      "button",
      {
        type: "button",
        class: "btn btn-primary btn-block",
        id: "login-continue",
        onclick: async () => {
          state.user = await currentUser({ refresh: true });
          if (!state.user) {
            note.hidden = false;
            return;
          }
          done = true;
          refreshBag();
          closeSheet();
          resolve(true);
        },
      },
      "I'm signed in, continue",
    );
    openSheet({
      title: "Sign in to buy",
      id: "login-sheet",
      onClose: () => {
        if (!done) resolve(false);
      },
      content: el(
        "div",
        { class: "stack" },
        el("p", { class: "muted" }, "The show keeps playing here while you sign in."),
        el("a", { class: "btn btn-ghost btn-block", href: loginUrl(), target: "_blank", rel: "noopener" }, "Log in"),
        el("a", { class: "btn btn-ghost btn-block", href: "/signup.html", target: "_blank", rel: "noopener" }, "Create an account"),
        note,
        next,
      ),
    });
  });
}

async function openBuySheet(productId, variantId = null) {
  if (!(await ensureUser())) return;
  let product;
  let profile;
  try {
    [product, profile] = await Promise.all([productById(productId), loadProfile()]);
  } catch (err) {
    toast(errorText(err), "error");
    return;
  }
  let key = newKey(); // one purchase intent = one key, whatever the number of retries
  let quantity = 1;
  // What is bought: the product itself, or the variant picked (a size tapped on the card)
  const sized = hasVariants(product);
  let chosen = sized ? product.variants.find((v) => v.id === variantId && !isSoldOut(v)) || null : product;
  const sale = () => (chosen ? liveSale(chosen.id) : null);
  const unit = () => (sale() ? sale().price_minor : (chosen || product).price_minor);
  const max = () => Math.max(1, Math.min(10, sale()?.per_buyer_limit || product.per_buyer_limit || 10));
  const qtyOut = el("output", { id: "buy-qty" }, "1");
  const total = () => formatPrice(unit() * quantity, product.currency);
  const buyButton = el("button", { type: "submit", class: "btn btn-primary btn-block", id: "buy-now" });
  const label = () => {
    buyButton.disabled = !chosen;
    buyButton.textContent = chosen ? `Buy now · ${total()}` : `Choose a ${optionWords(product)}`;
  };
  // subtotal, shipping, tax and total as the server works them out for this address
  const quote = quoteBox();
  const ask = async (address = shipping.typed()) => {
    if (!chosen) return;
    const got = await quote.update({ product_id: chosen.id, quantity, ...(address ? { address } : {}), ...(deal ? { coupon_id: deal.coupon.id } : {}) });
    if (got && got.shipping_minor !== null) buyButton.textContent = `Buy now · ${formatPrice(got.total_minor, got.currency)}`;
  };
  const setQty = (n) => {
    quantity = Math.max(1, Math.min(max(), n));
    qtyOut.textContent = String(quantity);
    label();
    ask();
  };
  const error = el("div", { class: "form-error", role: "alert", hidden: true });
  // a live coupon this viewer claimed: the server applies it (or says why not)
  const deal = couponFor(product.id, unit());
  const couponLine = deal
    ? el("div", { class: "row small", id: "buy-coupon" }, `Coupon ${deal.coupon.code}: ${deal.coupon.text}`)
    : null;
  const shipping = shippingBlock(profile, { onAddress: (address) => ask(address) });
  const image = (chosen && chosen.image) || (product.images || [])[0];
  let photo = image ? el("img", { src: image, alt: "", id: "buy-photo" }) : cover(null, product.title, "cover");
  const priceEl = el("span", { class: "price", id: "buy-price" });
  const saleEls = el("span", { class: "row small" });
  const showPrice = () => {
    priceEl.textContent = formatPrice(unit(), product.currency);
    const s = sale();
    replaceChildren(
      saleEls,
      s ? el("span", { class: "sale-was" }, formatPrice((chosen || product).price_minor, product.currency)) : null,
      s ? el("span", { class: "stock-low" }, `Flash sale · ${s.remaining} left`) : null,
    );
  };
  const picker = sized
    ? el(
        "div",
        { class: "stack-s", id: "buy-variants" },
        el("span", { class: "muted small" }, `Choose a ${optionWords(product)}`),
        variantPicker(product, {
          selectedId: chosen ? chosen.id : null,
          onPick: (variant) => {
            if (chosen !== variant) key = newKey(); // another size is another purchase
            chosen = variant;
            if (variant.image) {
              // the size's or colour's own photo, when it has one
              const next = el("img", { src: variant.image, alt: "", id: "buy-photo" });
              photo.replaceWith(next);
              photo = next;
            }
            setQty(quantity);
            showPrice();
            error.hidden = true;
          },
        }),
      )
    : null;
  showPrice();
  label();
  const body = el(
    "form",
    { class: "stack buy-sheet", id: "buy-form", novalidate: true },
    el(
      "div",
      { class: "buy-product" },
      photo,
      el(
        "div",
        { class: "grow" },
        el("div", { class: "product-title" }, product.title),
        el("div", { class: "row small" }, priceEl, priceNoteEl(), saleEls),
      ),
    ),
    picker,
    el(
      "div",
      { class: "row row-between" },
      el("span", { class: "muted" }, "Quantity"),
      el(
        "div",
        { class: "qty" },
        el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": "One less", onclick: () => setQty(quantity - 1) }, "−"),
        qtyOut,
        el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": "One more", onclick: () => setQty(quantity + 1) }, "+"),
      ),
    ),
    couponLine,
    shipping.holder,
    quote.box,
    error,
    buyButton,
    el("button", { type: "button", class: "btn btn-ghost btn-block", id: "add-to-cart", onclick: (e) => (chosen ? addToCart(chosen, quantity, e.currentTarget) : toast(`Choose a ${optionWords(product)} first.`, "error")) }, "Add to cart"),
  );
  body.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!chosen) {
      showError(error, `Choose a ${optionWords(product)} first.`);
      return;
    }
    try {
      const result = await busy(buyButton, async () => {
        await shipping.saveIfEdited();
        return api("/api/checkout/buy-now", {
          body: {
            product_id: chosen.id,
            quantity,
            source: { type: "live", id: state.sessionId },
            ...(deal ? { coupon_id: deal.coupon.id } : {}),
          },
          headers: { "Idempotency-Key": key },
        });
      });
      showConfirmation(await finishPayment(result.order));
    } catch (err) {
      showFieldError(body, { field: err.field, message: errorText(err) }, { box: error, fields: SHIP_FIELDS });
    }
  });
  openSheet({ title: sale() ? "Flash sale" : "Buy", content: body, id: "buy-sheet" });
  ask();
}

async function addToCart(product, quantity, button) {
  try {
    await busy(button, () =>
      api("/api/cart/items", { body: { product_id: product.id, quantity, source: { type: "live", id: state.sessionId } } }),
    );
    toast(`${product.title} is in your cart`, "success");
    refreshBag();
    openCart(cartContext);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

// what the cart sheet needs from this page
const cartContext = { ensureUser, newKey, errorText, setBag };

// ---------- wiring ----------

function addLineupButtons() {
  for (const item of document.querySelectorAll("#lineup-list [data-product-id]")) {
    if (item.querySelector(".lineup-buy")) continue;
    const productId = Number(item.dataset.productId);
    item.append(
      el(
        "button",
        {
          type: "button",
          class: "btn btn-primary btn-small lineup-buy",
          dataset: { productId: String(productId) },
          onclick: () => document.dispatchEvent(new CustomEvent("liveshop:buy", { detail: { productId, sessionId: state.sessionId } })),
        },
        "Buy",
      ),
    );
  }
}

document.addEventListener("liveshop:buy", (event) => {
  const { productId, variantId } = event.detail || {};
  if (!productId) return;
  track("card_click", productId);
  openBuySheet(Number(productId), variantId ? Number(variantId) : null);
});

ready.then(async (loaded) => {
  if (!loaded?.session) return; // no show on this page (a wrong or missing ?id=): nothing to sell
  const { session, user } = loaded;
  state.sessionId = session.id;
  state.user = user || (await currentUser());
  for (const product of session.products || []) state.products.set(product.id, product);
  const list = document.getElementById("lineup-list");
  if (list) {
    addLineupButtons();
    new MutationObserver(addLineupButtons).observe(list, { childList: true });
  }
  const cards = document.getElementById("pinned-cards");
  if (cards) new MutationObserver(decorateCards).observe(cards, { childList: true });
  refreshBag();
  try {
    // The state before the first tick (sales running, units left).
    const live = await api(`/api/sessions/${session.id}/commerce`);
    state.offsetMs = live.server_time * 1000 - Date.now();
    state.sales = new Map((live.sales || []).map((s) => [s.product_id, s]));
    showProof(live);
    decorateCards();
  } catch {
    /* ticks will bring it */
  }
});
