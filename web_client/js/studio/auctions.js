// The studio's live-format controls (#formats-slot, beside the camera view): auctions with
// a queue of next items, giveaways and live coupons for the selected session.

import { onSessionSelected } from "../pages/studio.js";
import { mountFormatsPanel } from "../room/formats-panel.js";
import { el } from "../ui.js";

const slot = document.getElementById("formats-slot");
let mounted = null;
let mountedId = null;

onSessionSelected((session) => {
  if (!slot || !session || mountedId === session.id) return;
  mounted?.close();
  mountedId = session.id;
  const body = el("div", { id: "formats-body" });
  slot.replaceChildren(el("div", { class: "section-head" }, el("h2", {}, "Auctions, giveaways and coupons")), body);
  mounted = mountFormatsPanel(body, session);
});
