// Studio control: who gets real-time video. "Real-time video for: everyone / the first N
// viewers"; the others watch at standard latency (LL-HLS). Writes the show's `front_row`
// (a number of viewers, or null for everyone) with PATCH /api/sessions/{id}.
//
//   const control = frontRowControl();   // control.element goes into the page
//   control.show(session);               // the selected session (its front_row)

import { api } from "../api.js";
import { el } from "../ui.js";

const MAX_FRONT_ROW = 100_000;

/** The control; `onSaved(session)` gets the session as the server answered it. */
export function frontRowControl({ onSaved = () => {} } = {}) {
  let session = null;
  const mode = el(
    "select",
    { class: "input", id: "front-row-mode", "aria-label": "Real-time video for" },
    el("option", { value: "all" }, "everyone"),
    el("option", { value: "first" }, "the first N viewers"),
  );
  const count = el("input", {
    class: "input",
    id: "front-row-count",
    type: "number",
    min: "0",
    max: String(MAX_FRONT_ROW),
    step: "1",
    value: "50",
    inputmode: "numeric",
    "aria-label": "Number of real-time viewers",
    hidden: true,
  });
  const note = el("span", { class: "hint", id: "front-row-note", role: "status" });
  const element = el(
    "div",
    { class: "field front-row", id: "front-row" },
    el("span", {}, "Real-time video for"),
    el("div", { class: "row" }, mode, count),
    el("span", { class: "hint" }, "Others watch at standard latency, a few seconds behind. Chat and buying work the same for everyone."),
    note,
  );

  async function save() {
    if (!session) return;
    let frontRow = null;
    if (mode.value === "first") {
      frontRow = Number(count.value);
      if (!Number.isInteger(frontRow) || frontRow < 0 || frontRow > MAX_FRONT_ROW) {
        note.textContent = `Enter a whole number of viewers from 0 to ${MAX_FRONT_ROW.toLocaleString()}.`;
        return;
      }
    }
    const id = session.id;
    note.textContent = "Saving…";
    try {
      const updated = await api(`/api/sessions/${id}`, { method: "PATCH", body: { front_row: frontRow } });
      if (session?.id !== id) return;
      if (updated && !("front_row" in updated)) {
        note.textContent = "This server does not limit real-time video yet.";
        return;
      }
      session = { ...session, front_row: updated?.front_row ?? frontRow };
      if (frontRow === null) note.textContent = "Saved: everyone gets real-time video.";
      else if (frontRow === 0) note.textContent = "Saved: everyone watches at standard latency.";
      else note.textContent = `Saved: real-time video for the first ${frontRow.toLocaleString()} viewers.`;
      onSaved(session);
    } catch (err) {
      note.textContent = `Could not save: ${err.message}`;
    }
  }

  mode.addEventListener("change", () => {
    count.hidden = mode.value !== "first";
    save();
  });
  count.addEventListener("change", () => save());

  return {
    element,
    /** Shows the selected session's setting (null: nothing selected). */
    show(next) {
      const changed = next?.id !== session?.id;
      session = next;
      if (!changed && document.activeElement === count) return; // being edited
      const n = next?.front_row;
      const limited = typeof n === "number";
      mode.value = limited ? "first" : "all";
      count.hidden = !limited;
      if (limited) count.value = String(n);
      if (changed) note.textContent = "";
    },
  };
}
