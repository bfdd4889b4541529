// The merchant's shipping and tax settings (GET/PUT /api/seller/shipping): zones of
// countries (or everywhere else), each priced flat, by weight (per started kg) or by
// weight bands, free from an amount; tax rates per country or region. Amounts are typed
// in money ("4.90") and sent in minor units; a refusal is shown under its input.

import { api, currencyDigits } from "./api.js";
import { clearFormErrors, showFieldError } from "./forms.js";
import { busy, el, renderNav, replaceChildren, toast } from "./ui.js";

const KINDS = { flat: "Flat price", per_kg: "By weight (per started kg)", bands: "Weight bands" };

let currency = "USD";
const digits = () => currencyDigits(currency);
const money = (minor) => (minor === null || minor === undefined ? "" : (minor / 10 ** digits()).toFixed(digits()));
function minor(text) {
  const clean = String(text || "").trim().replace(",", ".");
  if (!clean) return null;
  if (!/^\d+(\.\d+)?$/.test(clean)) return Number.NaN;
  return Math.round(Number(clean) * 10 ** digits());
}

const input = (name, value, attrs = {}) => el("input", { class: "input", name, value: value ?? "", ...attrs });
const field = (label, control) => el("label", { class: "field" }, el("span", {}, label), control);

function zoneCard(zone, onRemove) {
  const rate = zone.rate || { kind: "flat", amount_minor: 0 };
  const kind = el("select", { class: "input", "data-role": "kind" }, Object.entries(KINDS).map(([k, label]) => el("option", { value: k, selected: k === rate.kind }, label)));
  const flat = field("Price", input("amount", money(rate.kind === "flat" ? rate.amount_minor : 0), { inputmode: "decimal", "data-role": "flat" }));
  const base = field("Base price", input("base", money(rate.kind === "per_kg" ? rate.amount_minor : 0), { inputmode: "decimal", "data-role": "base" }));
  const perKg = field("Per started kg", input("per_kg", money(rate.per_kg_minor || 0), { inputmode: "decimal", "data-role": "per-kg" }));
  const bandsText = (rate.bands || []).map((b) => `${b.up_to_g} = ${money(b.amount_minor)}`).join("\n");
  const bands = field("Bands: up to grams = price, one per line", el("textarea", { class: "input", name: "bands", rows: "3", "data-role": "bands", placeholder: "500 = 4.90\n2000 = 8.90" }, bandsText));
  const show = () => {
    flat.hidden = kind.value !== "flat";
    base.hidden = perKg.hidden = kind.value !== "per_kg";
    bands.hidden = kind.value !== "bands";
  };
  kind.addEventListener("change", show);
  const card = el(
    "fieldset",
    { class: "card stack zone" },
    el("div", { class: "field-row" }, field("Zone name", input("name", zone.name, { maxlength: "60", "data-role": "name" })), field("Countries (2-letter codes; empty: everywhere else)", input("countries", (zone.countries || []).join(", "), { "data-role": "countries", placeholder: "US, CA" }))),
    field("Priced", kind),
    el("div", { class: "field-row" }, flat, base, perKg),
    bands,
    field("Free from (optional)", input("free_from", money(zone.free_from_minor), { inputmode: "decimal", "data-role": "free" })),
    el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => onRemove(card) }, "Remove zone"),
  );
  show();
  return card;
}

function taxRow(tax, onRemove) {
  const row = el(
    "div",
    { class: "field-row tax" },
    field("Country", input("country", tax.country, { maxlength: "2", "data-role": "country" })),
    field("Region (optional)", input("region", tax.region, { maxlength: "10", "data-role": "region" })),
    field("Rate %", input("rate", tax.rate_bp === undefined ? "" : String(tax.rate_bp / 100), { inputmode: "decimal", "data-role": "rate" })),
    el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": "Remove tax rate", onclick: () => onRemove(row) }, "Remove"),
  );
  return row;
}

// Name every input by its path in the body, so a refusal lands under the right one.
function renumber(form) {
  form.querySelectorAll(".zone").forEach((card, i) => {
    const at = (role, name) => card.querySelector(`[data-role="${role}"]`).setAttribute("name", `zones[${i}].${name}`);
    at("name", "name");
    at("countries", "countries");
    at("kind", "rate.kind");
    at("flat", "rate.amount_minor");
    at("base", "rate.base");
    at("per-kg", "rate.per_kg_minor");
    at("bands", "rate.bands");
    at("free", "free_from_minor");
  });
  form.querySelectorAll(".tax").forEach((row, i) => {
    for (const [role, name] of [["country", "country"], ["region", "region"], ["rate", "rate_bp"]]) row.querySelector(`[data-role="${role}"]`).setAttribute("name", `taxes[${i}].${name}`);
  });
}

function readZone(card) {
  const value = (role) => card.querySelector(`[data-role="${role}"]`).value.trim();
  const kind = value("kind");
  const rate = { kind };
  if (kind === "flat") rate.amount_minor = minor(value("flat")) ?? 0;
  if (kind === "per_kg") Object.assign(rate, { amount_minor: minor(value("base")) ?? 0, per_kg_minor: minor(value("per-kg")) ?? 0 });
  if (kind === "bands") {
    rate.bands = value("bands").split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
      const [grams, price] = line.split("=").map((s) => s.trim());
      return { up_to_g: Number.parseInt(grams, 10), amount_minor: minor(price) ?? 0 };
    });
  }
  return {
    name: value("name"),
    countries: value("countries").split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase()),
    rate,
    free_from_minor: minor(value("free")),
  };
}

async function main() {
  const user = await renderNav({ active: "studio" });
  const main = document.getElementById("main");
  if (!user) {
    location.href = `/login.html?next=${encodeURIComponent("/shop-settings.html")}`;
    return;
  }
  const got = await api("/api/seller/shipping");
  const settings = got.settings || { currency: "USD", zones: [{ name: "Everywhere", countries: [], rate: { kind: "flat", amount_minor: 0 } }], taxes: [], tax_shipping: true };
  currency = settings.currency;
  const error = el("div", { class: "form-error", role: "alert", hidden: true });
  const zones = el("div", { class: "stack", id: "zones" });
  const taxes = el("div", { class: "stack", id: "taxes" });
  const remove = (node) => node.remove();
  zones.append(...settings.zones.map((z) => zoneCard(z, remove)));
  taxes.append(...settings.taxes.map((t) => taxRow(t, remove)));
  const currencyInput = input("currency", settings.currency, { maxlength: "3", id: "shop-currency" });
  currencyInput.addEventListener("change", () => {
    currency = currencyInput.value.trim().toUpperCase() || "USD";
  });
  const taxShipping = el("input", { type: "checkbox", name: "tax_shipping", checked: settings.tax_shipping !== false });
  const pricing = got.tax_pricing === "inclusive" ? "Prices on this store include tax (incl. VAT): tax is worked out from them." : "Prices on this store are before tax: tax is added at checkout.";
  const form = el(
    "form",
    { class: "stack", id: "shipping-form", novalidate: true },
    el("p", { class: "muted" }, got.configured ? pricing : `${pricing} Until you save, your items ship free everywhere and no tax is added.`),
    field("Currency of your prices", currencyInput),
    el("h2", {}, "Shipping zones"),
    zones,
    el("button", { type: "button", class: "btn btn-ghost", id: "add-zone", onclick: () => zones.append(zoneCard({ name: "", countries: [] }, remove)) }, "Add a zone"),
    el("h2", {}, "Tax rates"),
    taxes,
    el("button", { type: "button", class: "btn btn-ghost", id: "add-tax", onclick: () => taxes.append(taxRow({}, remove)) }, "Add a tax rate"),
    el("label", { class: "check" }, taxShipping, el("span", {}, "Charge tax on shipping too")),
    error,
    el("button", { type: "submit", class: "btn btn-primary btn-block", id: "save-shipping" }, "Save"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(form, error);
    renumber(form);
    const body = {
      currency: currencyInput.value.trim().toUpperCase(),
      zones: [...zones.querySelectorAll(".zone")].map(readZone),
      taxes: [...taxes.querySelectorAll(".tax")].map((row) => {
        const value = (role) => row.querySelector(`[data-role="${role}"]`).value.trim();
        const rate = Number.parseFloat(value("rate").replace(",", "."));
        return { country: value("country").toUpperCase(), region: value("region").toUpperCase() || null, rate_bp: Number.isFinite(rate) ? Math.round(rate * 100) : -1 };
      }),
      tax_shipping: taxShipping.checked,
    };
    try {
      await busy(form.querySelector("#save-shipping"), () => api("/api/seller/shipping", { method: "PUT", body }));
      toast("Shipping and tax saved", "success");
    } catch (err) {
      showFieldError(form, err, { box: error });
    }
  });
  replaceChildren(main, el("div", { class: "page-head" }, el("h1", {}, "Shipping and tax")), form);
}

main().catch((err) => toast(err.message || "Could not load your shipping settings.", "error"));
