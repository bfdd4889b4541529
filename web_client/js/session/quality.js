// The player's quality toggle on the real-time tier: Auto (the server picks the host's
// simulcast layer from this viewer's network), Data saver (the smallest layer) or HD (the
// largest). The choice is kept in localStorage and sent to the viewer's own WHEP resource,
// POST {resource}/layer {"layer": "auto" | "low" | "high"}, each time a connection comes up
// and whenever it changes. A host that sends one stream answers "simulcast": false: the
// toggle then hides (there is nothing to choose). LL-HLS has one rendition: hidden there.

import { el } from "../ui.js";

const KEY = "liveshop.quality";
const CHOICES = [
  ["auto", "Auto"],
  ["low", "Data saver"],
  ["high", "HD"],
];

let resource = null;

function stored() {
  const value = localStorage.getItem(KEY);
  return CHOICES.some(([id]) => id === value) ? value : "auto";
}

export const qualityToggle = el(
  "select",
  { id: "quality", class: "quality-toggle", hidden: true, "aria-label": "Video quality" },
  ...CHOICES.map(([id, label]) => el("option", { value: id }, label)),
);
qualityToggle.value = stored();

qualityToggle.addEventListener("change", () => {
  localStorage.setItem(KEY, qualityToggle.value);
  void send();
});

async function send() {
  if (!resource) return;
  const at = resource;
  try {
    const url = new URL(at); // an edge's resource carries its ticket in the query
    url.pathname += "/layer";
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ layer: qualityToggle.value }),
    });
    if (at !== resource || !response.ok) return;
    const body = await response.json();
    qualityToggle.hidden = !body.simulcast;
    qualityToggle.dataset.simulcast = String(Boolean(body.simulcast));
  } catch {
    // the choice is sent again with the next connection
  }
}

/** A WHEP connection is up (its resource URL), or gone (null; also off the WebRTC tier). */
export function setQualityResource(url) {
  resource = url;
  if (!url) {
    qualityToggle.hidden = true;
    return;
  }
  void send();
}

const style = document.createElement("style");
style.textContent = `
    .quality-toggle { position: absolute; right: 12px; top: calc(var(--topbar-h, 56px) + 108px); z-index: 5;
      padding: 3px 8px; border-radius: 999px; background: rgba(0,0,0,.55); color: #fff;
      border: 1px solid rgba(255,255,255,.3); font-size: 12px; font-weight: 600; }
    .quality-toggle[hidden] { display: none; }
`;
document.head.append(style);
