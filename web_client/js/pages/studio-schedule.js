// Studio "Schedule a session" form (in a bottom sheet): POST /api/sessions.

import { ApiError, api } from "../api.js";
import { clearFormErrors, showFieldError } from "../forms.js";
import { busy, closeSheet, el, openSheet, replaceChildren, showError, skeletons, toast } from "../ui.js";
import { checkedIds, field, parseUsernames, productCheck } from "./studio-forms.js";
import { myProducts } from "./studio-products.js";

/** A Date as the value of a datetime-local input (local wall-clock time). */
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function defaultStart() {
  const date = new Date(Date.now() + 60 * 60 * 1000);
  date.setMinutes(Math.ceil(date.getMinutes() / 15) * 15, 0, 0);
  return date;
}

/** Sends a show's cover image; the show is kept (and the reason told) if it is refused. */
export async function uploadCover(session, file, { created = true } = {}) {
  try {
    return await api(`/api/sessions/${session.id}/cover`, {
      method: "POST",
      body: file,
      raw: true,
      headers: { "Content-Type": file.type || "application/octet-stream" },
    }).then((r) => r.json());
  } catch (err) {
    const why = err.message || "the upload failed";
    toast(created ? `The show is scheduled, but its cover was not added: ${why}` : `The cover was not changed: ${why}`, "error", { timeout: 7000 });
    return session;
  }
}

/**
 * Open the form. `onCreated(session)` runs after the server accepted it and the sheet closed.
 * @param {(session: object) => Promise<void>|void} onCreated
 */
export function openScheduleForm(onCreated) {
  const errorBox = el("div", { class: "form-error", role: "alert", hidden: true });
  const picker = el("div", { class: "check-list", id: "schedule-products" }, skeletons(2, "skeleton skeleton-row"));
  const form = el(
    "form",
    { id: "schedule-form", novalidate: true },
    errorBox,
    field("Title", el("input", { name: "title", id: "schedule-title", required: true, maxlength: "120", placeholder: "Autumn knitwear drop" })),
    field("Description", el("textarea", { name: "description", id: "schedule-description", maxlength: "2000", placeholder: "What will you show?" })),
    field(
      "Starts at",
      el("input", { name: "starts_at", id: "schedule-starts", type: "datetime-local", required: true, value: localInputValue(defaultStart()) }),
      "Your local time.",
    ),
    el("div", { class: "field" }, el("span", { class: "label" }, "Products"), picker),
    field(
      "Cover image",
      el("input", { name: "cover", id: "schedule-cover", type: "file", accept: "image/jpeg,image/png,image/webp,image/gif" }),
      "Optional. Shown on the home page and in share previews.",
    ),
    field("Moderators", el("input", { name: "moderators", id: "schedule-moderators", placeholder: "usernames, separated by commas", autocapitalize: "none", spellcheck: "false" })),
    el("button", { type: "submit", class: "btn btn-primary btn-block", id: "schedule-submit" }, "Schedule session"),
  );
  myProducts()
    .then((products) => {
      if (products.length === 0) {
        replaceChildren(picker, el("p", { class: "muted small" }, "You have no products yet. You can add them to the line-up later."));
      } else {
        replaceChildren(picker, products.map((p) => productCheck(p, false, "schedule-product")));
      }
    })
    .catch((err) => replaceChildren(picker, el("p", { class: "muted small" }, `Could not load products: ${err.message}`)));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(form, errorBox);
    const refuse = (name, message) => showFieldError(form, { field: name, message }, { box: errorBox });
    const title = form.title.value.trim();
    const start = new Date(form.starts_at.value);
    if (!title) return refuse("title", "Give your show a title.");
    if (Number.isNaN(start.getTime())) return refuse("starts_at", "Pick a start date and time.");
    const body = {
      title,
      description: form.description.value.trim(),
      starts_at: start.toISOString(),
      product_ids: checkedIds(picker, "schedule-product"),
      moderators: parseUsernames(form.moderators.value),
    };
    try {
      const coverFile = form.cover.files && form.cover.files[0];
      let created = await busy(form.querySelector("#schedule-submit"), () => api("/api/sessions", { body }));
      if (coverFile) created = await uploadCover(created, coverFile);
      closeSheet();
      await onCreated(created);
      toast(`“${created.title}” scheduled`, "success");
    } catch (err) {
      if (err instanceof ApiError) showFieldError(form, err, { box: errorBox });
      else showError(errorBox, "Could not schedule the show.");
    }
  });
  openSheet({ title: "Schedule a session", content: form, id: "schedule-sheet" });
}
