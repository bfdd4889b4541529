// After the show (#summary-slot): how it went, from GET /api/sessions/{id}/summary:
// duration, peak and total viewers, orders and revenue, the best sellers, the replay and
// clips being made (with their progress, re-read every few seconds until they are done)
// and the link to the replay.

import { api, formatPrice } from "../api.js";
import { onSessionSelected } from "../pages/studio.js";
import { el, replaceChildren } from "../ui.js";

const REFRESH_MS = 3000;
const WAIT_FOR_JOB_MS = 90_000; // a recording becomes a job a moment after the end

const slot = document.getElementById("summary-slot");
let current = null; // {id, timer, since}

function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

function tile(key, label, value) {
  return el("div", { class: "metric", dataset: { metric: key } }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
}

function jobLine(job) {
  if (job.state === "done") return el("li", { dataset: { state: "done" } }, "The replay and clips are ready.");
  if (job.state === "failed") {
    return el("li", { dataset: { state: "failed" } }, "The replay could not be made. An admin can run it again from the replay page.");
  }
  const label = job.state === "queued" ? "Waiting to start making the replay and clips" : "Making the replay and clips";
  return el(
    "li",
    { dataset: { state: job.state } },
    el("span", {}, `${label} · ${Math.round(job.percent)}%`),
    el("progress", { max: "100", value: String(job.percent), "aria-label": "Replay and clips progress" }),
  );
}

function render(s) {
  const money = formatPrice(s.revenue_minor, s.currency || "USD");
  const top = s.top_products.length
    ? el(
        "ol",
        { class: "summary-top", id: "summary-top" },
        s.top_products.map((p) =>
          el("li", { dataset: { productId: String(p.product_id) } }, el("span", { class: "grow" }, p.title),
            el("span", { class: "muted small" }, `${p.units} sold · ${formatPrice(p.revenue_minor, s.currency || "USD")}`)),
        ),
      )
    : el("p", { class: "muted small", id: "summary-top" }, "Nothing was sold during this show.");
  const jobs = s.processing.length
    ? el("ul", { class: "summary-jobs", id: "summary-jobs" }, s.processing.map(jobLine))
    : el("p", { class: "muted small", id: "summary-jobs" }, s.replay.ready ? "" : "The replay and clips will be made from the recording in a moment.");
  const clips = s.clips ? `${s.clips} ${s.clips === 1 ? "clip" : "clips"} ready for the feed.` : "";
  const replay = s.replay.ready
    ? el("a", { class: "btn btn-primary btn-small", id: "summary-replay", href: s.replay.url }, "Watch the replay")
    : el("span", { class: "muted small", id: "summary-replay" }, "The replay opens here once it is ready.");
  return el(
    "div",
    { class: "card", id: "show-summary", dataset: { sessionId: String(s.session_id) } },
    el("div", { class: "row row-between" }, el("h3", { class: "card-title", style: { margin: "0" } }, "How the show went"), replay),
    el(
      "div",
      { class: "metrics" },
      tile("duration", "On air", duration(s.duration_s)),
      tile("peak", "Peak viewers", s.viewers.peak.toLocaleString()),
      tile("total", "Viewers in all", s.viewers.total.toLocaleString()),
      tile("orders", "Orders", s.orders.toLocaleString()),
      tile("revenue", "Revenue", money),
    ),
    el("h4", {}, "Best sellers"),
    top,
    el("h4", {}, "Replay and clips"),
    jobs,
    clips ? el("p", { class: "muted small", id: "summary-clips" }, clips) : null,
  );
}

function stillMaking(s, since) {
  if (s.processing.some((j) => j.state === "queued" || j.state === "running")) return true;
  return !s.processing.length && !s.replay.ready && performance.now() - since < WAIT_FOR_JOB_MS;
}

async function load(state) {
  try {
    const s = await api(`/api/sessions/${state.id}/summary`);
    if (current !== state) return;
    replaceChildren(slot, render(s));
    if (stillMaking(s, state.since)) state.timer = setTimeout(() => load(state), REFRESH_MS);
  } catch (err) {
    if (current === state) replaceChildren(slot, el("p", { class: "form-error", id: "show-summary" }, err.message));
  }
}

onSessionSelected((session) => {
  if (!slot) return;
  if (!session || session.state !== "ended") {
    if (current) clearTimeout(current.timer);
    current = null;
    slot.replaceChildren();
    return;
  }
  if (current && current.id === session.id) return;
  if (current) clearTimeout(current.timer);
  current = { id: session.id, timer: null, since: performance.now() };
  load(current);
});
