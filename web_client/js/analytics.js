// A show's analytics for its host: headline numbers, the per-minute chart of viewers,
// reactions and orders, the funnel per product, and CSV exports. Live while the show
// runs (refreshes every 5 s), final once it has ended.

import { api, formatPrice } from "./api.js";
import { downloadCsv, drawTimeline, metricsGrid } from "./studio/timeline.js";
import { el, param, renderNav, replaceChildren } from "./ui.js";

const sessionId = Number.parseInt(param("id") || "", 10);
const error = document.getElementById("analytics-error");

function productTable(products, currency) {
  if (!products.length) return el("p", { class: "muted" }, "No product activity yet.");
  const head = ["Product", "Card views", "Clicks", "CTR", "Add to cart", "Orders", "Units", "Revenue"];
  return el(
    "table",
    { class: "data-table", id: "products-table" },
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el(
      "tbody",
      {},
      products.map((p) =>
        el(
          "tr",
          { dataset: { productId: String(p.product_id) } },
          el("td", {}, p.title || `#${p.product_id}`),
          el("td", {}, String(p.card_views)),
          el("td", {}, String(p.card_clicks)),
          el("td", {}, `${Math.round(p.click_through_rate * 100)}%`),
          el("td", {}, String(p.add_to_carts)),
          el("td", {}, String(p.orders)),
          el("td", {}, String(p.units)),
          el("td", {}, formatPrice(p.revenue_minor, currency || "USD")),
        ),
      ),
    ),
  );
}

async function load() {
  try {
    const [session, report] = await Promise.all([api(`/api/sessions/${sessionId}`), api(`/api/sessions/${sessionId}/analytics`)]);
    error.hidden = true;
    document.getElementById("analytics-title").textContent = session.title;
    document.getElementById("analytics-state").textContent = report.final ? "Final numbers" : "Live: updating every few seconds";
    const metrics = document.getElementById("analytics-metrics");
    replaceChildren(metrics, metricsGrid(report.summary));
    metrics.setAttribute("aria-busy", "false");
    if (report.timeline.length) replaceChildren(document.getElementById("analytics-chart"), drawTimeline(report.timeline, { height: 240, width: 960, minSlots: 30 }));
    replaceChildren(document.getElementById("analytics-products"), productTable(report.products, report.summary.currency));
    return report.final;
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
    return true;
  }
}

const user = await renderNav({ active: "studio" });
if (!user) {
  location.href = `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
} else if (!Number.isFinite(sessionId)) {
  error.textContent = "No show selected.";
  error.hidden = false;
} else {
  for (const button of document.querySelectorAll("[data-csv]")) {
    button.addEventListener("click", () => downloadCsv(sessionId, button.dataset.csv));
  }
  const final = await load();
  if (!final) setInterval(load, 5000);
}
