// The live page's cart sheet (one order for everything in the cart, with the shared
// address form and quote) and the "Order placed" confirmation both checkouts end in.

import { api, formatPrice, orderNumber } from "../api.js";
import { finishPayment } from "../checkout/card.js";
import { SHIP_FIELDS, loadProfile, shippingBlock } from "../checkout/profile.js";
import { breakdown, quoteBox } from "../checkout/quote.js";
import { showFieldError } from "../forms.js";
import { busy, cover, el, openSheet, replaceChildren, toast } from "../ui.js";

// ---------- cart sheet ----------

/**
 * The cart sheet: change quantities, the address and a quote, then one order for the lot.
 * `ctx` is the show page's {ensureUser, newKey, errorText, setBag}.
 */
export async function openCart({ ensureUser, newKey, errorText, setBag }) {
  if (!(await ensureUser())) return;
  const content = el("div", { class: "stack", id: "cart-body" }, el("div", { class: "skeleton skeleton-row" }));
  openSheet({ title: "Your cart", content, id: "cart-sheet" });
  let profile;
  try {
    profile = await loadProfile();
  } catch (err) {
    replaceChildren(content, el("p", { class: "form-error" }, errorText(err)));
    return;
  }
  const key = newKey();
  const quote = quoteBox();
  const shipping = shippingBlock(profile, { onAddress: (address) => quote.update({ address }) });
  const render = (cart) => {
    setBag(cart.count);
    if (!cart.items.length) {
      replaceChildren(content, el("p", { class: "muted", id: "cart-empty" }, "Your cart is empty. Tap Buy on a product to add it."));
      return;
    }
    const change = (item, quantity) =>
      (quantity < 1 ? api(`/api/cart/items/${item.product_id}`, { method: "DELETE" }) : api(`/api/cart/items/${item.product_id}`, { method: "PUT", body: { quantity } }))
        .then(render)
        .catch((err) => toast(errorText(err), "error"));
    const error = el("div", { class: "form-error", role: "alert", hidden: true });
    const pay = el("button", { type: "button", class: "btn btn-primary btn-block", id: "cart-checkout" }, "Place order");
    pay.addEventListener("click", async () => {
      error.hidden = true;
      try {
        const result = await busy(pay, async () => {
          await shipping.saveIfEdited();
          return api("/api/checkout", { body: {}, headers: { "Idempotency-Key": key } });
        });
        setBag(0);
        showConfirmation(await finishPayment(result.order));
      } catch (err) {
        showFieldError(content, { field: err.field, message: errorText(err) }, { box: error, fields: SHIP_FIELDS });
      }
    });
    replaceChildren(
      content,
      el(
        "ul",
        { class: "cart-lines" },
        cart.items.map((item) =>
          el(
            "li",
            { class: "cart-line", dataset: { productId: String(item.product_id) } },
            item.image ? el("img", { class: "thumb", src: item.image, alt: "" }) : cover(null, item.title || "?", "thumb"),
            el(
              "div",
              { class: "grow" },
              el("div", {}, item.title || "No longer available"),
              el("div", { class: "small muted" }, item.available ? formatPrice(item.price_minor * item.quantity, item.currency) : "", item.available && !item.in_stock ? " · not enough stock" : ""),
            ),
            el(
              "div",
              { class: "qty" },
              el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": "One less", onclick: () => change(item, item.quantity - 1) }, "−"),
              el("output", {}, String(item.quantity)),
              el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": "One more", onclick: () => change(item, item.quantity + 1) }, "+"),
            ),
          ),
        ),
      ),
      cart.totals.map((t) => el("div", { class: "cart-total" }, el("span", {}, "Items"), el("span", { id: "cart-total" }, formatPrice(t.total_minor, t.currency)))),
      shipping.holder,
      quote.box,
      error,
      pay,
    );
    const typed = shipping.typed();
    quote.update(typed ? { address: typed } : {});
  };
  try {
    render(await api("/api/cart"));
  } catch (err) {
    replaceChildren(content, el("p", { class: "form-error" }, errorText(err)));
  }
}

// ---------- confirmation ----------

/** The "Order placed" sheet (its items, amounts, how to pay, the order number). */
export function showConfirmation(order) {
  const lines = order.items.map((it) => el("li", {}, `${it.quantity} × ${it.title} · ${formatPrice(it.unit_price_minor * it.quantity, it.currency)}`));
  const pending = order.status === "pending_payment";
  openSheet({
    title: "Order placed",
    id: "order-sheet",
    content: el(
      "div",
      { class: "stack order-done", id: "order-confirmation", dataset: { orderId: order.id } },
      el("div", { class: "tick", "aria-hidden": "true" }, "✓"),
      el("p", {}, pending ? "Reserved for you: finish paying to keep it." : "Thanks! Your order is confirmed."),
      el("ul", { class: "order-items" }, lines),
      el("div", { class: "quote", id: "order-amounts" }, breakdown(order)),
      order.payment && order.payment.instructions ? el("p", { class: "muted small" }, order.payment.instructions) : null,
      el("p", { class: "muted small", id: "order-number" }, `Order ${orderNumber(order.id)}`),
      el("a", { class: "btn btn-ghost btn-block", href: "/orders.html", target: "_blank", rel: "noopener" }, "My orders"),
    ),
  });
}
