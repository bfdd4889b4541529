// Session analytics pieces shared by the studio's sales panel and the analytics page:
// the metric tiles, the per-minute timeline chart (inline SVG: viewers and reactions as
// lines, orders as bars, each on its own scale) and the authenticated CSV download.

import { api, formatPrice } from "../api.js";
import { el, toast } from "../ui.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLORS = { viewers: "#5b3df5", reactions: "#ff5a36", orders: "#14894a" };

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

function percent(ratio) {
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

/** The headline numbers as tiles. */
export function metricsGrid(s, { compact = false } = {}) {
  const money = formatPrice(s.revenue_minor, s.currency || "USD");
  const tiles = [
    ["orders", "Orders", String(s.orders)],
    ["revenue", "Revenue", money],
    ["conversion", "Conversion", percent(s.conversion_rate)],
    ["viewers", "Unique viewers", String(s.unique_viewers)],
  ];
  if (!compact) {
    tiles.push(
      ["peak", "Peak viewers", String(s.peak_viewers)],
      ["average", "Average viewers", String(s.average_viewers)],
      ["watch", "Watch time", `${Math.round(s.watch_seconds / 60)} min`],
      ["chat", "Chat messages", String(s.chat_messages)],
      ["reactions", "Reactions", String(s.reactions)],
      ["views", "Card views", String(s.card_views)],
      ["clicks", "Card clicks", String(s.card_clicks)],
      ["carts", "Add to carts", String(s.add_to_carts)],
      ["units", "Units sold", String(s.units)],
    );
  }
  return el(
    "div",
    { class: "metrics" },
    tiles.map(([key, label, value]) =>
      el("div", { class: "metric", dataset: { metric: key } }, el("div", { class: "value" }, value), el("div", { class: "label" }, label)),
    ),
  );
}

/**
 * The per-minute chart. `rows`: [{minute (epoch s), viewers, reactions, orders}].
 * @returns {HTMLElement} a figure with the SVG and a legend
 */
export function drawTimeline(data, { height = 200, width = 640, minSlots = 15 } = {}) {
  // A short show is drawn at the right of a window of at least `minSlots` minutes, so one
  // minute is a bar, not the whole chart; the padding minutes draw nothing.
  const padCount = Math.max(0, minSlots - data.length);
  const first = data.length ? data[0].minute : 0;
  const rows = [
    ...Array.from({ length: padCount }, (_, i) => ({ minute: first - (padCount - i) * 60, pad: true })),
    ...data,
  ];
  const pad = { left: 8, right: 8, top: 10, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = Math.max(rows.length, 1);
  const step = plotW / n;
  const max = (key) => Math.max(1, ...data.map((r) => r[key] || 0));
  const peaks = { viewers: max("viewers"), reactions: max("reactions"), orders: max("orders") };
  const y = (key, value) => pad.top + plotH - (plotH * (value || 0)) / peaks[key];
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "Viewers, reactions and orders per minute" });
  chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH, stroke: "#e3e3ea" }));
  rows.forEach((r, i) => {
    if (!r.orders) return;
    const h = pad.top + plotH - y("orders", r.orders);
    const barW = Math.max(1, Math.min(28, step * 0.6));
    const bar = svg("rect", {
      x: pad.left + i * step + (step - barW) / 2,
      y: pad.top + plotH - h,
      width: barW,
      height: h,
      rx: 2,
      fill: COLORS.orders,
      opacity: 0.75,
      "data-series": "orders",
    });
    const title = svg("title");
    title.textContent = `${r.orders} orders`;
    bar.append(title);
    chart.append(bar);
  });
  for (const key of ["viewers", "reactions"]) {
    const points = data.map((r, i) => `${(pad.left + (i + padCount) * step + step / 2).toFixed(1)},${y(key, r[key]).toFixed(1)}`);
    if (points.length === 1) points.unshift(`${(pad.left + padCount * step).toFixed(1)},${y(key, data[0][key]).toFixed(1)}`);
    chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: COLORS[key], "stroke-width": 2.5, "stroke-linejoin": "round", "data-series": key }));
  }
  const label = (i, anchor) => {
    const text = svg("text", { x: anchor === "start" ? pad.left : width - pad.right, y: height - 6, "font-size": 11, fill: "#8c8c9b", "text-anchor": anchor });
    const date = new Date(rows[i].minute * 1000);
    text.textContent = `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
    return text;
  };
  if (data.length) chart.append(label(0, "start"), label(rows.length - 1, "end"));
  const legend = el(
    "div",
    { class: "chart-legend" },
    el("span", { style: { "--swatch": COLORS.viewers } }, `Viewers (peak ${peaks.viewers})`),
    el("span", { style: { "--swatch": COLORS.reactions } }, `Reactions (max ${peaks.reactions}/min)`),
    el("span", { style: { "--swatch": COLORS.orders } }, `Orders (max ${peaks.orders}/min)`),
  );
  return el("figure", { class: "stack", id: "timeline-chart", style: { margin: "0" } }, chart, legend);
}

/** Download one of the session's CSV tables with the signed-in user's token. */
export async function downloadCsv(sessionId, table) {
  try {
    const response = await api(`/api/sessions/${sessionId}/analytics.csv?table=${table}`, { raw: true, headers: { Accept: "text/csv" } });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `session-${sessionId}-${table}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(err.message, "error");
  }
}
