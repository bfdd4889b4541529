// Moderator console for moderate.html?id=N: loads the session, then mounts the full panel.

import { ApiError, api, currentUser } from "../api.js";
import { mountModeration } from "./panel.js";
import { el, emptyState, param, renderNav } from "../ui.js";

async function main() {
  await renderNav();
  if (!document.querySelector('link[href="/css/room.css"]')) {
    document.head.append(el("link", { rel: "stylesheet", href: "/css/room.css" }));
  }
  const root = document.getElementById("moderate");
  const id = Number(param("id"));
  const user = await currentUser().catch(() => null);
  if (!user) {
    location.href = `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
    return;
  }
  if (!id) {
    root.replaceChildren(emptyState("No show selected", "Open the console from a show you moderate."));
    return;
  }
  let session;
  try {
    session = await api(`/api/sessions/${id}`);
  } catch (err) {
    root.replaceChildren(emptyState("Show not found", err instanceof ApiError ? err.message : "Could not load the show."));
    return;
  }
  document.getElementById("mod-title").textContent = session.title;
  document.getElementById("watch-link").href = `/session.html?id=${session.id}`;
  document.title = `Moderate: ${session.title} · LiveShop`;
  mountModeration(root, session);
}

main();
