// The host's orders: who bought what and where it goes, filters (to ship, shipped, refunded,
// cancelled), the packing list as CSV, "Mark shipped" with carrier and tracking number, and
// full or partial refunds (units back on sale only when the host ticks the box). The server
// decides everything (who may, how much is left to refund); this page shows its answers.

import { api, currencyDigits, formatPrice, formatTime, orderNumber } from "./api.js";
import { showFieldError } from "./forms.js";
import { busy, confirmAction, el, emptyState, renderNav, replaceChildren, skeletons, toast } from "./ui.js";

const STAGES = {
  awaiting_payment: "Waiting for payment",
  to_ship: "To ship",
  shipped: "Shipped",
  refunded: "Refunded",
  cancelled: "Cancelled",
};
const STAGE_CHIP = { to_ship: "confirmed", shipped: "paid", refunded: "cancelled", cancelled: "cancelled", awaiting_payment: "pending_payment" };
const EMPTY = {
  to_ship: "Nothing to ship right now.",
  shipped: "No order shipped yet.",
  refunded: "No refunds.",
  cancelled: "No cancelled orders.",
  all: "No orders yet.",
};
const PAYMENT = { cod: "Pay on delivery", invoice: "Invoice", card: "Card" };

let filter = "to_ship";

function address(a) {
  if (!a) return null;
  const lines = [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, a.country, a.phone].filter(Boolean);
  return el("address", { class: "small", style: { "font-style": "normal" } }, ...lines.flatMap((l, i) => (i ? [el("br"), l] : [l])));
}

function shipForm(order, done) {
  const carrier = el("input", { name: "carrier", autocomplete: "off", placeholder: "UPS, DHL, La Poste…", maxlength: 60, required: true });
  const tracking = el("input", { name: "tracking", autocomplete: "off", placeholder: "1Z999AA10123456784", maxlength: 80, required: true });
  const save = el("button", { type: "submit", class: "btn btn-primary btn-small" }, order.payment.status === "authorized" ? "Take payment and mark shipped" : "Mark shipped");
  const form = el(
    "form",
    { class: "ship-form", novalidate: true },
    el("label", { class: "field" }, el("span", {}, "Carrier"), carrier),
    el("label", { class: "field" }, el("span", {}, "Tracking number"), tracking),
    save,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await busy(save, () =>
        api(`/api/orders/${encodeURIComponent(order.id)}/ship`, { body: { carrier: carrier.value, tracking: tracking.value } }),
      );
      toast(`Order ${orderNumber(order.id)} marked shipped`, "success");
      done();
    } catch (err) {
      showFieldError(form, err);
    }
  });
  return form;
}

function refundForm(order, done) {
  const digits = currencyDigits(order.currency);
  const left = order.refundable_minor;
  const amount = el("input", {
    name: "amount_minor",
    inputmode: "decimal",
    value: (left / 10 ** digits).toFixed(digits),
    "aria-describedby": `refund-hint-${order.id}`,
  });
  const restock = el("input", { type: "checkbox", name: "restock" });
  const go = el("button", { type: "submit", class: "btn btn-danger btn-small" }, "Refund");
  const form = el(
    "form",
    { class: "refund-form", novalidate: true },
    el(
      "label",
      { class: "field" },
      el("span", {}, "Amount to refund"),
      amount,
      el("span", { class: "hint", id: `refund-hint-${order.id}` }, `Up to ${formatPrice(left, order.currency)}`),
    ),
    el("label", { class: "check" }, restock, el("span", {}, "Put the items back on sale")),
    el("div", { class: "row", style: { "margin-top": "10px" } }, go),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = Number(String(amount.value).replace(",", "."));
    const minor = Math.round(value * 10 ** digits);
    if (!Number.isFinite(value) || minor < 1) {
      showFieldError(form, { message: "Enter the amount to refund, more than zero.", field: "amount_minor" });
      return;
    }
    const how = order.payment.provider === "stripe" ? "It goes back to the buyer's card." : "Give the money back the way it was paid.";
    const sure = await confirmAction({
      title: `Refund ${formatPrice(minor, order.currency)}?`,
      text: `${how}${restock.checked ? " The items go back on sale." : ""}`,
      confirmLabel: "Refund",
      cancelLabel: "Not now",
      danger: true,
    });
    if (!sure) return;
    try {
      await busy(go, () =>
        api(`/api/orders/${encodeURIComponent(order.id)}/refund`, { body: { amount_minor: minor, restock: restock.checked } }),
      );
      toast(`Refunded ${formatPrice(minor, order.currency)}`, "success");
      done();
    } catch (err) {
      showFieldError(form, err);
    }
  });
  return form;
}

function orderCard(order, reload) {
  const slot = el("div", { class: "order-action" });
  // one form at a time under the card; the same button again closes it
  const open = (make) => () => {
    if (slot.firstChild?.dataset.kind === make.name) {
      slot.replaceChildren();
      return;
    }
    const form = make(order, reload);
    form.dataset.kind = make.name;
    slot.replaceChildren(form);
    form.querySelector("input")?.focus();
  };
  const actions = el(
    "div",
    { class: "row" },
    order.stage === "to_ship" ? el("button", { type: "button", class: "btn btn-primary btn-small", onclick: open(shipForm) }, "Mark shipped") : null,
    order.refundable_minor > 0 && ["to_ship", "shipped"].includes(order.stage) && order.payment.status !== "authorized"
      ? el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: open(refundForm) }, "Refund")
      : null,
  );
  const shipment = order.shipment;
  return el(
    "li",
    { class: "card order-card", dataset: { orderId: order.id, stage: order.stage } },
    el(
      "div",
      { class: "row row-between" },
      el("strong", {}, `Order ${orderNumber(order.id)}`),
      el("span", { class: "status-chip", dataset: { status: STAGE_CHIP[order.stage] || "" } }, STAGES[order.stage] || "Order"),
    ),
    el("div", { class: "muted small" }, formatTime(order.created_at), " · ", PAYMENT[order.payment.method] || "Paid online"),
    el(
      "ul",
      { class: "order-items" },
      order.items.map((it) => el("li", {}, `${it.quantity} × ${it.title}`, el("span", { class: "muted" }, ` · ${formatPrice(it.unit_price_minor * it.quantity, it.currency)}`))),
    ),
    address(order.shipping_address),
    el(
      "div",
      { class: "row row-between" },
      el("span", { class: "price" }, formatPrice(order.total_minor, order.currency)),
      order.refunded_minor ? el("span", { class: "small muted order-refunded" }, `Refunded ${formatPrice(order.refunded_minor, order.currency)}`) : null,
    ),
    shipment ? el("div", { class: "small order-tracking" }, `Shipped with ${shipment.carrier} · tracking ${shipment.tracking_number}`) : null,
    actions,
    slot,
  );
}

async function load() {
  const list = document.getElementById("seller-orders");
  list.setAttribute("aria-busy", "true");
  try {
    const { items } = await api(`/api/seller/orders?status=${filter}`);
    replaceChildren(list, items.length ? items.map((o) => orderCard(o, load)) : el("li", {}, emptyState(EMPTY[filter], "Orders of what you sell show up here.", { iconName: "bag" })));
  } catch (err) {
    replaceChildren(list, el("li", { class: "form-error" }, err.message));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

async function packingList() {
  try {
    const response = await api(`/api/seller/orders?status=${filter}&format=csv`, { raw: true, headers: { Accept: "text/csv" } });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `packing-list-${filter}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(err.message, "error");
  }
}

const user = await renderNav({ active: "studio" });
if (!user) {
  location.href = `/login.html?next=${encodeURIComponent("/fulfilment.html")}`;
} else {
  for (const tab of document.querySelectorAll("#order-filters [data-filter]")) {
    tab.addEventListener("click", () => {
      filter = tab.dataset.filter;
      for (const other of document.querySelectorAll("#order-filters [data-filter]")) other.setAttribute("aria-selected", String(other === tab));
      load();
    });
  }
  document.getElementById("packing-list").addEventListener("click", packingList);
  replaceChildren(document.getElementById("seller-orders"), skeletons(3, "skeleton skeleton-row"));
  load();
}
