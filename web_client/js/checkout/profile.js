// The checkout profile, one form for every sheet that buys (the live room's buy and cart
// sheets, the replay's and the feed's bags): where to ship and how to pay, saved on the
// server for one-tap buying. Ways to pay carry their names for people ("Pay on delivery",
// never "cod"); "Card" adds the card block (Stripe, js/checkout/card.js).

import { api } from "../api.js";
import { el, replaceChildren } from "../ui.js";
import { cardBlock, methodLabel } from "./card.js";

// The server's names for the form's inputs (a refusal is shown under its input).
export const SHIP_FIELDS = {
  "address.name": "#ship-name",
  "address.line1": "#ship-line1",
  "address.city": "#ship-city",
  "address.postal_code": "#ship-postal",
  "address.country": "#ship-country",
  "address.region": "#ship-region",
  payment_method: "#pay-method",
  email: "#ship-email",
};

export async function loadProfile() {
  return api("/api/me/checkout-profile");
}

/** The form: { box, save() } where save() stores the profile (and a new card first). */
export function profileFields(profile) {
  const address = profile.address || {};
  const field = (id, label, value, attrs = {}) =>
    el("label", { class: "field" }, el("span", {}, label), el("input", { class: "input", id, name: id, value: value || "", required: true, ...attrs }));
  const methods = (profile.payment_methods || []).map((m) => m.method);
  const chosen = methods.includes(profile.payment_method) ? profile.payment_method : methods[0];
  const select = el(
    "select",
    { class: "input", id: "pay-method", name: "payment_method" },
    methods.map((m) => el("option", { value: m, selected: m === chosen }, methodLabel(m))),
  );
  const cardSlot = el("div", { id: "card-slot" });
  let card = null;
  const showCard = () => {
    if (select.value === "card") {
      card ??= cardBlock();
      replaceChildren(cardSlot, card.box);
    } else {
      cardSlot.replaceChildren();
    }
  };
  select.addEventListener("change", showCard);
  showCard();
  const share = el("input", { type: "checkbox", id: "share-name", checked: Boolean(profile.show_first_name) });
  // where order emails go (only when this server sends email)
  const email = el("input", { class: "input", id: "ship-email", name: "email", type: "email", autocomplete: "email", placeholder: "ana@example.com" });
  const emailField = el("label", { class: "field", hidden: true }, el("span", {}, "Email for order updates (optional)"), email);
  let emailWas = "";
  api("/api/me/email")
    .then((info) => {
      emailWas = info.email || "";
      email.value = emailWas;
      emailField.hidden = !info.emails_enabled;
    })
    .catch(() => {});
  const box = el(
    "div",
    { class: "stack", id: "ship-form" },
    field("ship-name", "Full name", address.name, { autocomplete: "name" }),
    field("ship-line1", "Address", address.line1, { autocomplete: "address-line1" }),
    el(
      "div",
      { class: "field-row" },
      field("ship-city", "City", address.city, { autocomplete: "address-level2" }),
      field("ship-postal", "Postal code", address.postal_code, { autocomplete: "postal-code" }),
    ),
    el(
      "div",
      { class: "field-row" },
      field("ship-country", "Country (2 letters)", address.country || "US", { maxlength: "2", autocomplete: "country" }),
      field("ship-region", "State or region (optional)", address.region, { maxlength: "10", autocomplete: "address-level1", required: false }),
    ),
    el("label", { class: "field" }, el("span", {}, "Payment"), select),
    cardSlot,
    emailField,
    el("label", { class: "check" }, share, el("span", {}, "Show my first name when I buy (\"Ana just bought…\")")),
  );
  const value = (id) => box.querySelector(`#${id}`).value.trim();
  // the address typed so far, once every required part is there (for the quote)
  const typed = () => {
    const a = { name: value("ship-name"), line1: value("ship-line1"), city: value("ship-city"), postal_code: value("ship-postal"), country: value("ship-country").toUpperCase() };
    if (Object.values(a).some((v) => !v) || a.country.length !== 2) return null;
    const region = value("ship-region");
    return region ? { ...a, region: region.toUpperCase() } : a;
  };
  const save = async () => {
    if (select.value === "card" && card) await card.ensureCard();
    if (!emailField.hidden && email.value.trim() !== emailWas) {
      await api("/api/me/email", { method: "PUT", body: { email: email.value.trim() || null } });
      emailWas = email.value.trim();
    }
    return api("/api/me/checkout-profile", {
      method: "PUT",
      body: {
        address: { name: value("ship-name"), line1: value("ship-line1"), city: value("ship-city"), postal_code: value("ship-postal"), country: value("ship-country").toUpperCase(), region: value("ship-region").toUpperCase() || null },
        payment_method: select.value,
        show_first_name: share.checked,
      },
    });
  };
  return { box, save, typed };
}

/** Saved profile: a one-line summary (one tap to buy) with Change; otherwise the form.
 * `onAddress(address)` hears of an address typed in the form (for the sheet's quote). */
export function shippingBlock(profile, { onAddress = null } = {}) {
  const holder = el("div", { class: "stack" });
  let form = null;
  const showForm = () => {
    form = profileFields(profile);
    if (onAddress) {
      form.box.addEventListener("change", () => {
        const typed = form.typed();
        if (typed) onAddress(typed);
      });
    }
    replaceChildren(holder, form.box);
  };
  if (profile.address && profile.payment_method) {
    const a = profile.address;
    replaceChildren(
      holder,
      el(
        "div",
        { class: "ship-summary row row-between", id: "ship-summary" },
        el("span", {}, `Ship to ${a.name}, ${a.line1}, ${a.city} · ${methodLabel(profile.payment_method)}`),
        el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: showForm }, "Change"),
      ),
    );
  } else {
    showForm();
  }
  return { holder, saveIfEdited: async () => (form ? form.save() : null), typed: () => (form ? form.typed() : null) };
}
