// Studio slot: the selected show's cover image (shown on the home page, the show page before
// it starts and in share previews): upload a new one or take it off. A card at the end of
// the setup pane; the server checks the image and that the show is the host's.

import { ApiError, api } from "../api.js";
import { onSessionSelected, refreshSession } from "../pages/studio.js";
import { uploadCover } from "../pages/studio-schedule.js";
import { busy, el, icon, replaceChildren, toast } from "../ui.js";

let current = null;
const preview = el("div", { class: "cover-card-preview", id: "cover-preview" });
const input = el("input", { type: "file", id: "cover-file", accept: "image/jpeg,image/png,image/webp,image/gif", hidden: true });
const upload = el("button", { type: "button", class: "btn btn-ghost btn-small", id: "cover-upload", onclick: () => input.click() }, icon("image"), "Upload cover");
const remove = el("button", { type: "button", class: "btn btn-ghost btn-small", id: "cover-remove" }, "Remove");
const card = el(
  "div",
  { class: "card", id: "cover-card" },
  el("h3", { class: "card-title" }, "Cover image"),
  el("p", { class: "muted small" }, "Shown on the home page, on the show page before it starts and when the link is shared."),
  preview,
  el("div", { class: "row" }, upload, remove, input),
);

function render() {
  const url = current && current.cover_url;
  replaceChildren(preview, url ? el("img", { src: url, alt: "Cover of this show" }) : el("span", { class: "muted small" }, "No cover yet."));
  remove.hidden = !url;
}

input.addEventListener("change", async () => {
  const file = input.files && input.files[0];
  input.value = "";
  if (!file || !current) return;
  const before = current.cover_url;
  const updated = await busy(upload, () => uploadCover(current, file, { created: false }));
  if (updated.cover_url !== before) {
    toast("Cover updated", "success");
    await refreshSession();
  }
});

remove.addEventListener("click", async () => {
  if (!current) return;
  try {
    await busy(remove, () => api(`/api/sessions/${current.id}/cover`, { method: "DELETE" }));
    toast("Cover removed", "success");
    await refreshSession();
  } catch (err) {
    toast(err instanceof ApiError ? err.message : "Could not remove the cover.", "error");
  }
});

onSessionSelected((session) => {
  current = session;
  const pane = document.getElementById("setup-pane");
  if (pane && !pane.contains(card)) pane.append(card);
  card.hidden = !session || session.state === "ended";
  render();
});
