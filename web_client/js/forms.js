// A refusal shown where it belongs: next to the input the server named.
//
// The server's error body names its input in `field` ("price_minor", "address.name",
// "items[0].quantity"); `showFieldError` finds that input in a form, marks it
// (aria-invalid, aria-describedby), puts the message under it and clears both as soon as
// the person edits it. An error about no input (or one the form does not have) goes to
// the form's own message box instead, never lost.

import { el, sentence, showError } from "./ui.js";

let counter = 0;

function controlFor(form, field, fields) {
  if (!field) return null;
  const named = fields?.[field];
  if (named) return typeof named === "string" ? form.querySelector(named) : named;
  const last = field.split(/[.[\]]/).filter(Boolean).pop();
  for (const name of [field, last]) {
    const found = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (found) return found;
  }
  return null;
}

function messageNode(control) {
  if (!control.id) {
    counter += 1;
    control.id = `field-${counter}`;
  }
  const id = `${control.id}-error`;
  let node = document.getElementById(id);
  if (!node) {
    node = el("small", { class: "field-error", id, role: "alert" });
    const holder = control.closest(".field") || control.parentElement;
    holder.append(node);
  }
  return node;
}

/** Remove one input's error mark and message. */
export function clearFieldError(control) {
  if (!control || control.getAttribute("aria-invalid") !== "true") return;
  control.removeAttribute("aria-invalid");
  const id = `${control.id}-error`;
  document.getElementById(id)?.remove();
  const rest = (control.getAttribute("aria-describedby") || "").split(" ").filter((t) => t && t !== id);
  if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
  else control.removeAttribute("aria-describedby");
}

/** Clear every field error in `form` (and its message box, when given). */
export function clearFormErrors(form, box = null) {
  for (const control of form.querySelectorAll('[aria-invalid="true"]')) clearFieldError(control);
  if (box) showError(box, null);
}

/** Mark `control` with `message` until the person edits it. */
export function markField(control, message) {
  clearFieldError(control);
  const node = messageNode(control);
  node.textContent = sentence(message);
  control.setAttribute("aria-invalid", "true");
  const ids = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  ids.add(node.id);
  control.setAttribute("aria-describedby", [...ids].join(" "));
  const clear = () => clearFieldError(control);
  control.addEventListener("input", clear, { once: true });
  control.addEventListener("change", clear, { once: true });
}

/**
 * Show an error from the server (an ApiError, or anything with a message) in `form`:
 * next to the input named by its `field` when the form has it, else in `box`.
 *
 * @param {HTMLFormElement|HTMLElement} form
 * @param {{message?: string, field?: string|null}} err
 * @param {{box?: HTMLElement|null, fields?: Record<string, string|HTMLElement>, fallback?: string}} [options]
 *   `fields` maps a server field to a selector or an input when the names differ
 *   ({price_minor: "#sale-price"}); `fallback` is said when the error has no message.
 * @returns {HTMLElement|null} the input marked, or null when the message went to `box`
 */
export function showFieldError(form, err, { box = null, fields = {}, fallback = "That didn't work. Please try again." } = {}) {
  clearFormErrors(form, box);
  const message = (err && err.message) || fallback;
  const control = controlFor(form, err && err.field, fields);
  if (control) {
    markField(control, message);
    control.focus({ preventScroll: false });
    return control;
  }
  if (box) showError(box, message);
  return null;
}
