// The moderator console's live-format controls: the same panel as the studio's.

import { api } from "../api.js";
import { mountFormatsPanel } from "../room/formats-panel.js";
import { param } from "../ui.js";

async function main() {
  const slot = document.getElementById("formats-slot");
  const id = Number(param("id"));
  if (!slot || !id) return;
  try {
    mountFormatsPanel(slot, await api(`/api/sessions/${id}`));
  } catch {
    /* the console shows why the show could not be loaded */
  }
}

main();
