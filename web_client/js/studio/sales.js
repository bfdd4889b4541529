// The host's sales panel in the studio (#sales-slot): orders ticking in, revenue,
// conversion, the per-minute chart, flash sales (start one on a line-up product, watch
// its countdown, end it early), and links to the full analytics page and CSV export.
//
// The numbers come from GET /api/sessions/{id}/analytics, refreshed every few seconds; each
// refresh is announced as "liveshop:sales" {sessionId, summary} (the console's live stats).
// The flash-sale form sits under the line-up (#flash-sale-slot) when the page has one; a
// line-up row's "Flash sale" ("liveshop:flash-sale-for" {productId}) picks its product.

import { findSellable, sellableOptions } from "../checkout/variants.js";
import { api, currencyDigits, formatPrice, formatTime } from "../api.js";
import { onSessionSelected } from "../pages/studio.js";
import { showFieldError } from "../forms.js";
import { busy, el, replaceChildren, toast } from "../ui.js";
import { downloadCsv, drawTimeline, metricsGrid } from "./timeline.js";

if (!document.querySelector('link[href="/css/shop.css"]')) {
  document.head.append(el("link", { rel: "stylesheet", href: "/css/shop.css" }));
}

const REFRESH_MS = 2500;
const slot = document.getElementById("sales-slot");
const formSlot = document.getElementById("flash-sale-slot");
let current = null; // {session, timer, seen:Set, saleTimer}

function toMinor(text, currency) {
  if (!String(text).trim()) return null; // empty: the server says "Enter a sale price."
  const value = Number(String(text).replace(",", "."));
  if (!Number.isFinite(value) || value < 0) return null;
  return Math.round(value * 10 ** currencyDigits(currency));
}

function wholeOrNull(text) {
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) ? value : null;
}

// The server's names for the sale form's inputs.
const SALE_FIELDS = {
  product_id: "#sale-product",
  price_minor: "#sale-price",
  quantity: "#sale-quantity",
  duration_s: "#sale-duration",
  per_buyer_limit: "#sale-cap",
};

function saleForm(session, onStarted) {
  const products = session.products || [];
  const select = el("select", { class: "input", id: "sale-product", name: "product_id" }, sellableOptions(products));
  const field = (id, label, attrs) => el("label", { class: "field" }, el("span", {}, label), el("input", { class: "input", id, name: id, required: true, ...attrs }));
  const price = field("sale-price", "Sale price", { inputmode: "decimal", placeholder: "9.99" });
  const quantity = field("sale-quantity", "Units", { type: "number", min: "1", value: "10" });
  const duration = field("sale-duration", "Seconds (10-300)", { type: "number", min: "10", max: "300", value: "60" });
  const cap = field("sale-cap", "Per buyer", { type: "number", min: "1", value: "1" });
  const error = el("div", { class: "form-error", role: "alert", hidden: true });
  const start = el("button", { type: "submit", class: "btn btn-primary", id: "sale-start" }, "Start flash sale");
  const form = el(
    "form",
    { class: "stack", id: "sale-form", novalidate: true },
    el("label", { class: "field" }, el("span", {}, "Product"), select),
    el("div", { class: "field-row" }, price, quantity),
    el("div", { class: "field-row" }, duration, cap),
    error,
    start,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const product = findSellable(products, Number(select.value));
    if (!product) return;
    const value = (id) => form.querySelector(`#${id}`).value;
    const body = {
      product_id: product.id,
      price_minor: toMinor(value("sale-price"), product.currency),
      quantity: wholeOrNull(value("sale-quantity")),
      duration_s: wholeOrNull(value("sale-duration")),
      per_buyer_limit: wholeOrNull(value("sale-cap")),
    };
    try {
      const { flash_sale: sale } = await busy(start, () => api(`/api/sessions/${session.id}/flash-sales`, { body }));
      toast(`Flash sale on: ${sale.quantity} × ${product.title}`, "success");
      onStarted();
    } catch (err) {
      showFieldError(form, err, { box: error, fields: SALE_FIELDS });
    }
  });
  if (!products.length) start.disabled = true;
  return form;
}

function salesList(sales, titles, onEnded) {
  const now = Date.now() / 1000;
  const rows = sales
    .filter((s) => s.status !== "ended" || now - s.ends_at_epoch < 60)
    .map((s) =>
      el(
        "li",
        { class: "list-item row row-between", dataset: { saleId: String(s.id), status: s.status } },
        el(
          "span",
          {},
          `${titles.get(s.product_id) || "Product"} · ${formatPrice(s.price_minor, s.currency)} · ${s.remaining}/${s.quantity} left`,
          s.status === "active" ? el("span", { class: "sale-clock", dataset: { ends: String(s.ends_at_epoch) } }, "") : el("span", { class: "muted" }, ` · ${s.status.replace("_", " ")}`),
        ),
        s.status === "active"
          ? el(
              "button",
              {
                type: "button",
                class: "btn btn-ghost btn-small",
                onclick: async (event) => {
                  try {
                    await busy(event.currentTarget, () => api(`/api/flash-sales/${s.id}/end`, { body: {} }));
                    onEnded();
                  } catch (err) {
                    toast(err.message, "error");
                  }
                },
              },
              "End",
            )
          : null,
      ),
    );
  return rows.length ? el("ul", { class: "list", id: "sale-list" }, rows) : el("p", { class: "muted small", id: "sale-list" }, "No flash sale running.");
}

function ticker(orders, seen) {
  if (!orders.length) return el("p", { class: "muted small", id: "order-ticker" }, "Orders appear here the moment they are placed.");
  return el(
    "ul",
    { class: "ticker", id: "order-ticker" },
    orders.map((o) => {
      const fresh = seen.size > 0 && !seen.has(o.id);
      return el(
        "li",
        { class: fresh ? "is-new" : "", dataset: { orderId: o.id } },
        el("span", {}, `${o.units} × ${o.titles}`),
        el("span", {}, formatPrice(o.total_minor, o.currency), el("span", { class: "muted small" }, ` · ${formatTime(o.created_at)}`)),
      );
    }),
  );
}

function mount(session) {
  current?.stop();
  const seen = new Set();
  const titles = new Map(
    (session.products || []).flatMap((p) => [[p.id, p.title], ...(p.variants || []).map((v) => [v.id, `${p.title} - ${v.label}`])]),
  );
  const metrics = el("div", { id: "sales-metrics" });
  const orders = el("div", {});
  const chart = el("div", {});
  const sales = el("div", {});
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    try {
      const [report, saleItems] = await Promise.all([
        api(`/api/sessions/${session.id}/analytics`),
        api(`/api/sessions/${session.id}/flash-sales`),
      ]);
      if (stopped) return;
      document.dispatchEvent(new CustomEvent("liveshop:sales", { detail: { sessionId: session.id, summary: report.summary } }));
      showLive(report.state);
      replaceChildren(metrics, metricsGrid(report.summary, { compact: true }));
      replaceChildren(orders, ticker(report.recent_orders, seen));
      for (const o of report.recent_orders) seen.add(o.id);
      if (report.timeline.length) replaceChildren(chart, drawTimeline(report.timeline, { height: 140 }));
      replaceChildren(sales, salesList(saleItems.items, titles, refresh));
    } catch (err) {
      if (!stopped) replaceChildren(metrics, el("p", { class: "form-error" }, err.message));
    }
  };
  const tick = () => {
    for (const node of slot.querySelectorAll(".sale-clock[data-ends]")) {
      const s = Math.max(0, Math.ceil(Number(node.dataset.ends) - Date.now() / 1000));
      node.textContent = ` · ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }
  };
  const clock = setInterval(tick, 250);
  const form = saleForm(session, () => refresh());
  const notLive = el("p", { class: "muted small", id: "sale-not-live" }, "Flash sales can be started while the show is live.");
  const showLive = (state) => {
    const live = state === "live" || state === "reconnecting";
    form.hidden = !live;
    notLive.hidden = live;
  };
  showLive(session.state);
  const saleCard = el("div", { class: "card", id: "flash-sale-card" }, el("h3", { class: "card-title" }, "Flash sale"), form, notLive);
  const pickProduct = (event) => {
    const { sessionId, productId } = event.detail ?? {};
    if (sessionId !== session.id || stopped) return;
    const picker = form.querySelector("#sale-product");
    // a product sold by size: its first size is picked (the host may choose another)
    const listed = (session.products || []).find((p) => p.id === productId);
    picker.value = String(listed?.variants?.length ? listed.variants[0].id : productId);
    const price = form.querySelector("#sale-price");
    saleCard.scrollIntoView({ block: "nearest" });
    if (!form.hidden) price.focus();
  };
  document.addEventListener("liveshop:flash-sale-for", pickProduct);
  if (formSlot) replaceChildren(formSlot, saleCard);
  replaceChildren(
    slot,
    el(
      "div",
      { class: "card", id: "sales-panel", dataset: { sessionId: String(session.id) } },
      el(
        "div",
        { class: "row row-between" },
        el("h3", { class: "card-title", style: { margin: "0" } }, "Sales"),
        el(
          "div",
          { class: "row" },
          el("a", { class: "btn btn-ghost btn-small", href: `/analytics.html?id=${session.id}`, target: "_blank", rel: "noopener" }, "Analytics"),
          el("button", { type: "button", class: "btn btn-ghost btn-small", id: "sales-csv", onclick: () => downloadCsv(session.id, "orders") }, "CSV"),
          el("a", { class: "btn btn-ghost btn-small", href: "/fulfilment.html", target: "_blank", rel: "noopener" }, "Ship"),
        ),
      ),
      metrics,
      el("h4", {}, "Orders"),
      orders,
      chart,
      el("h4", {}, "Flash sales"),
      sales,
      formSlot ? null : saleCard,
    ),
  );
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
  current = {
    sessionId: session.id,
    lineup: lineupKey(session),
    // the same show re-read (every few seconds, on room:state): only its state is new, so
    // what the host is typing in the sale form stays
    update(fresh) {
      showLive(fresh.state);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(clock);
      document.removeEventListener("liveshop:flash-sale-for", pickProduct);
    },
  };
}

/** What the sale form is built from: the line-up's products and their sizes. */
function lineupKey(session) {
  return (session.products || []).map((p) => [p.id, ...(p.variants || []).map((v) => v.id)].join(":")).join(",");
}

onSessionSelected((session) => {
  if (!slot) return;
  if (!session) {
    current?.stop();
    current = null;
    slot.replaceChildren();
    formSlot?.replaceChildren();
    return;
  }
  if (current && current.sessionId === session.id && current.lineup === lineupKey(session)) {
    current.update(session);
    return;
  }
  mount(session);
});
