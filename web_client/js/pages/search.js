// Search: products (with the shows and clips that feature them), shows and creators,
// from GET /api/search. The query and the chosen group live in the address (?q=&kind=),
// so a search can be shared and the back button works.

import { api } from "../api.js";
import { creatorRow, foundProduct, showCard } from "../discover/cards.js";
import { el, emptyState, renderNav, replaceChildren, skeletons } from "../ui.js";

const TYPING_MS = 250;
const form = document.getElementById("search-form");
const input = document.getElementById("search-q");
const results = document.getElementById("search-results");
const kinds = document.getElementById("search-kinds");
const state = { kind: "all", seq: 0, timer: null };

function section(id, title, body) {
  return el("section", { class: "section", id, "aria-label": title }, el("div", { class: "section-head" }, el("h2", {}, title)), body);
}

function render(data) {
  const groups = [];
  if (data.products.length) groups.push(section("found-products", "Products", el("div", { class: "found-list" }, data.products.map(foundProduct))));
  if (data.shows.length) groups.push(section("found-shows", "Shows", el("div", { class: "rail" }, data.shows.map((s) => showCard(s)))));
  if (data.creators.length) groups.push(section("found-creators", "Creators", el("div", { class: "list" }, data.creators.map(creatorRow))));
  if (!groups.length) {
    const what = state.kind === "all" ? "products, shows or creators" : state.kind;
    return emptyState(`Nothing found for “${data.query.trim()}”`, `No ${what} match every word. Try fewer or shorter words.`, { iconName: "eye" });
  }
  return groups;
}

async function run() {
  const q = input.value.trim();
  const url = new URL(location.href);
  url.search = "";
  if (q) url.searchParams.set("q", q);
  if (state.kind !== "all") url.searchParams.set("kind", state.kind);
  history.replaceState(null, "", url.pathname + url.search);
  const seq = ++state.seq;
  if (!q) {
    results.setAttribute("aria-busy", "false");
    replaceChildren(results, emptyState("Find something you'll love", "Search for a product, a show or a creator by name.", { iconName: "eye" }));
    return;
  }
  results.setAttribute("aria-busy", "true");
  if (!results.querySelector(".section")) replaceChildren(results, skeletons(3, "skeleton skeleton-row"));
  try {
    const data = await api(`/api/search?q=${encodeURIComponent(q)}&kind=${state.kind}`);
    if (seq !== state.seq) return; // a newer search is on its way
    replaceChildren(results, render(data));
  } catch (err) {
    if (seq !== state.seq) return;
    const retry = el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => run() }, "Try again");
    replaceChildren(results, emptyState("Search isn't working right now", err.message, { iconName: "refresh", action: retry }));
  } finally {
    if (seq === state.seq) results.setAttribute("aria-busy", "false");
  }
}

function setKind(kind) {
  state.kind = ["all", "products", "shows", "creators"].includes(kind) ? kind : "all";
  for (const button of kinds.querySelectorAll("button")) button.setAttribute("aria-selected", String(button.dataset.kind === state.kind));
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(state.timer);
  run();
});
input.addEventListener("input", () => {
  clearTimeout(state.timer);
  state.timer = setTimeout(run, TYPING_MS);
});
kinds.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-kind]") : null;
  if (!button) return;
  setKind(button.dataset.kind);
  run();
});

async function main() {
  const params = new URLSearchParams(location.search);
  input.value = params.get("q") || "";
  setKind(params.get("kind") || "all");
  await renderNav({ active: "search" }).catch(() => null);
  await run();
  if (!input.value) input.focus();
}

main();
