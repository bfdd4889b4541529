// The buyer's orders: status, items, total, where they bought it, the carrier and tracking
// number once shipped, refunds, and cancelling within the merchant's window before it ships
// (its units go back on sale; a card payment is given back).

import { api, formatPrice, formatTime, orderNumber } from "./api.js";
import { busy, confirmAction, el, emptyState, renderNav, replaceChildren, skeletons, toast } from "./ui.js";

const STATUS = {
  pending_payment: "Waiting for payment",
  confirmed: "Confirmed",
  paid: "Paid",
  cancelled: "Cancelled",
  expired: "Expired (not paid in time)",
};
const SOURCES = { live: "Live show", clip: "Clip", post: "Post", direct: "Shop" };

function statusLabel(order) {
  if (order.refunded_minor && order.refunded_minor >= order.total_minor && order.status !== "cancelled") return "Refunded";
  if (order.shipment) return "Shipped";
  return STATUS[order.status] || "Order";
}

function sourceLink(order) {
  const { type, id } = order.source || {};
  if (type === "live" && id) return el("a", { href: `/session.html?id=${id}` }, "Live show");
  return el("span", {}, SOURCES[type] || "Shop");
}

// "Includes $5.00 shipping and $5.40 tax" (or VAT inside the prices), when there is any.
function charges(order) {
  const money = (minor) => formatPrice(minor, order.currency);
  const parts = [];
  if (order.shipping_minor) parts.push(`${money(order.shipping_minor)} shipping`);
  if (order.tax_minor) parts.push(order.tax_included ? `${money(order.tax_minor)} VAT` : `${money(order.tax_minor)} tax`);
  if (!parts.length) return null;
  return el("div", { class: "small muted order-charges" }, `Includes ${parts.join(" and ")}`);
}

function orderCard(order, reload) {
  // the server decides (the merchant's window, before shipping); a refused cancel says why
  const cancellable = Boolean(order.cancellable);
  const paidByCard = order.payment?.provider === "stripe" && order.status === "paid";
  const cancel = cancellable
    ? el(
        "button",
        {
          type: "button",
          class: "btn btn-ghost btn-small order-cancel",
          onclick: async (event) => {
            const button = event.currentTarget;
            const text = paidByCard ? "Your card is refunded and the items go back on sale." : "The items go back on sale.";
            const sure = await confirmAction({ title: "Cancel this order?", text, confirmLabel: "Cancel order", cancelLabel: "Keep order", danger: true });
            if (!sure) return;
            try {
              await busy(button, () => api(`/api/orders/${encodeURIComponent(order.id)}/cancel`, { body: {} }));
              toast("Order cancelled", "success");
              reload();
            } catch (err) {
              toast(err.message, "error");
            }
          },
        },
        "Cancel order",
      )
    : null;
  return el(
    "li",
    { class: "card order-card", dataset: { orderId: order.id, status: order.status } },
    el(
      "div",
      { class: "row row-between" },
      el("span", { class: "status-chip", dataset: { status: order.status } }, statusLabel(order)),
      el("span", { class: "muted small" }, formatTime(order.created_at)),
    ),
    el(
      "ul",
      { class: "order-items" },
      order.items.map((it) =>
        el(
          "li",
          {},
          `${it.quantity} × ${it.title}`,
          el("span", { class: "muted" }, ` · ${formatPrice(it.unit_price_minor * it.quantity, it.currency)}`),
          it.flash_sale_id ? el("span", { class: "stock-low" }, " · flash sale") : null,
        ),
      ),
    ),
    el(
      "div",
      { class: "row row-between" },
      el("span", { class: "price" }, formatPrice(order.total_minor, order.currency)),
      el("span", { class: "small muted" }, "From ", sourceLink(order)),
    ),
    charges(order),
    order.shipping_address ? el("div", { class: "small muted" }, `Ships to ${order.shipping_address.name}, ${order.shipping_address.city}`) : null,
    order.shipment
      ? el(
          "div",
          { class: "small order-tracking" },
          `Shipped ${formatTime(order.shipment.shipped_at).replace(/^(Today|Yesterday)/, (w) => w.toLowerCase())} with ${order.shipment.carrier} · tracking number `,
          el("strong", { class: "tracking-number" }, order.shipment.tracking_number),
        )
      : null,
    order.refunded_minor ? el("div", { class: "small order-refunded" }, `Refunded ${formatPrice(order.refunded_minor, order.currency)}`) : null,
    el(
      "div",
      { class: "row row-between" },
      el("span", { class: "small muted" }, `Order ${orderNumber(order.id)}`, order.cancel_until ? ` · you can cancel until ${formatTime(order.cancel_until).replace(/^(Today|Tomorrow)/, (w) => w.toLowerCase())}` : ""),
      cancel,
    ),
  );
}

async function load() {
  const list = document.getElementById("orders-list");
  list.setAttribute("aria-busy", "true");
  try {
    const { items } = await api("/api/orders?limit=100");
    if (!items.length) {
      replaceChildren(list, el("li", {}, emptyState("No orders yet", "What you buy in live shows, clips and posts shows up here.", { iconName: "bag" })));
    } else {
      replaceChildren(list, items.map((o) => orderCard(o, load)));
    }
  } catch (err) {
    replaceChildren(list, el("li", { class: "form-error" }, err.message));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

const user = await renderNav({ active: "orders" });
if (!user) {
  location.href = `/login.html?next=${encodeURIComponent("/orders.html")}`;
} else {
  replaceChildren(document.getElementById("orders-list"), skeletons(3, "skeleton skeleton-row"));
  load();
}
