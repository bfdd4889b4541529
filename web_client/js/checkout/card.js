// Paying by card (Stripe), for every checkout sheet: the card on file ("Visa ending 4242")
// or a card form to add one, and finishing a payment the buyer's bank wants to confirm.
//
// The card goes from this page to Stripe through Stripe.js, never to LiveShop: the server
// hands out a SetupIntent's client secret (POST /api/me/card/setup), Stripe.js confirms it
// with the card Element, and the server keeps the resulting card (POST /api/me/card). Every
// later purchase is one tap; a 3-D Secure card is confirmed with stripe.confirmCardPayment
// when the order comes back with payment.next_action = "confirm_with_bank".

import { api } from "../api.js";
import { el, replaceChildren } from "../ui.js";

export const METHOD_LABELS = { cod: "Pay on delivery", invoice: "Invoice", card: "Card" };

export function methodLabel(method) {
  return METHOD_LABELS[method] || "Another way to pay";
}

let stripePromise = null;

// Stripe.js from the address the server names (Stripe's own, or a test server's copy).
function loadStripe(jsUrl, publishableKey) {
  stripePromise ??= new Promise((resolve, reject) => {
    const script = el("script", { src: jsUrl, async: true });
    script.addEventListener("load", () => (window.Stripe ? resolve(window.Stripe(publishableKey)) : reject(new Error("Stripe.js did not load"))));
    script.addEventListener("error", () => {
      stripePromise = null;
      reject(new Error("Card payments can't be reached right now. Try again in a minute."));
    });
    document.head.append(script);
  });
  return stripePromise;
}

/**
 * The card part of a checkout form, shown while "Card" is the chosen way to pay.
 * Returns { box, ensureCard } where ensureCard() saves a newly entered card first (and
 * resolves when the buyer has a card on file), or throws an Error with a sentence.
 */
export function cardBlock() {
  const box = el("div", { class: "card-block stack", id: "card-block" }, el("p", { class: "muted small" }, "Loading your card…"));
  let onFile = null;
  let element = null;
  let stripe = null;
  let info = null;

  const showForm = async () => {
    stripe = await loadStripe(info.js_url, info.publishable_key);
    const mount = el("div", { class: "card-element", id: "card-element" });
    replaceChildren(box, el("span", { class: "label" }, "Card"), mount, el("p", { class: "muted small" }, "Saved with Stripe for one-tap buying. LiveShop never sees the number."));
    element = stripe.elements().create("card");
    element.mount(mount);
    onFile = null;
  };

  const ready = (async () => {
    try {
      info = await api("/api/me/card");
    } catch (err) {
      replaceChildren(box, el("p", { class: "form-error" }, err.message));
      return;
    }
    if (info.card) {
      onFile = info.card;
      replaceChildren(
        box,
        el(
          "div",
          { class: "row row-between", id: "card-on-file" },
          el("span", {}, info.card.label),
          el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => showForm().catch((e) => replaceChildren(box, el("p", { class: "form-error" }, e.message))) }, "Use another card"),
        ),
      );
    } else {
      await showForm().catch((e) => replaceChildren(box, el("p", { class: "form-error" }, e.message)));
    }
  })();

  const ensureCard = async () => {
    await ready;
    if (onFile) return onFile;
    if (!element || !stripe) throw new Error("Card payments can't be reached right now. Try again in a minute.");
    const setup = await api("/api/me/card/setup", { method: "POST" });
    const result = await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: element } });
    if (result.error) throw new Error(result.error.message || "Your card could not be saved. Check the number and try again.");
    const saved = await api("/api/me/card", { body: { setup_intent: setup.setup_intent } });
    onFile = saved.card;
    return onFile;
  };

  return { box, ensureCard };
}

/**
 * After checkout: a payment the bank wants to confirm is confirmed here (Stripe.js shows
 * the bank's step), then the order is read back until the payment is settled. Returns the
 * order as it is then; throws an Error with a sentence when the bank said no.
 */
export async function finishPayment(order) {
  const payment = order.payment || {};
  if (payment.next_action !== "confirm_with_bank" || !payment.client_secret) return order;
  const info = await api("/api/me/card");
  const stripe = await loadStripe(info.js_url, info.publishable_key);
  const result = await stripe.confirmCardPayment(payment.client_secret);
  if (result.error) throw new Error("Your bank did not confirm the payment. Your order was not paid; try again or use another card.");
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { order: fresh } = await api(`/api/orders/${encodeURIComponent(order.id)}`);
    if (fresh.status !== "pending_payment" || Date.now() > deadline) return fresh;
    await new Promise((r) => setTimeout(r, 700));
  }
}
