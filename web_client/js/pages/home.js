// Home: live now, upcoming and replays, from GET /api/sessions?state=...

import { api, formatRelative, formatTime, isHost } from "../api.js";
import { avatar, badge, cover, el, emptyState, renderNav, replaceChildren, skeletons } from "../ui.js";

const REFRESH_MS = 30_000;

const SECTIONS = [
  {
    state: "live",
    list: "live-list",
    empty: ["Nobody is live right now", "Shows appear here the moment a host goes live."],
    icon: "radio",
  },
  {
    state: "upcoming",
    list: "upcoming-list",
    empty: ["Nothing scheduled yet", "When hosts schedule a show it is listed here."],
    icon: "calendar",
  },
  {
    state: "replays",
    list: "replays-list",
    empty: ["No replays yet", "Finished shows come back here as replays."],
    icon: "play",
  },
];

/** The badge state a session card shows in a given home section. */
function cardState(section, session) {
  if (section === "replays") return "replay";
  if (section === "upcoming") return "upcoming";
  return session.state === "reconnecting" ? "reconnecting" : "live";
}

function cardTime(section, session) {
  if (section === "live") {
    return session.went_live_at ? `Started ${formatRelative(session.went_live_at)}` : "On air";
  }
  if (section === "replays") return formatTime(session.ended_at || session.starts_at);
  return formatTime(session.starts_at);
}

/** The host's name, opening their creator page (the card around it opens the show, and
 * a link may not hold another link, so this one is a span that acts as a link). */
function creatorLink(host) {
  const go = (event) => {
    event.preventDefault();
    event.stopPropagation();
    location.href = `/creator.html?id=${encodeURIComponent(host.id)}`;
  };
  return el("span", { class: "creator-link", role: "link", tabindex: "0", dataset: { creatorId: String(host.id) }, onclick: go, onkeydown: (e) => (e.key === "Enter" ? go(e) : null) }, host.display_name || host.username || "");
}

/** A real frame of the show over its tile (the live picture or the replay's poster). It
 * fades in once loaded; if it fails, it is removed and the tile stays. */
function posterFrame(url) {
  const img = el("img", { class: "cover-frame", src: url, alt: "", decoding: "async", loading: "lazy" });
  img.addEventListener("load", () => img.classList.add("is-loaded"), { once: true });
  img.addEventListener("error", () => img.remove(), { once: true });
  return img;
}

/** Where each listed show's real picture is, for the shows that have one ({} on failure:
 * the cards keep their tiles). */
async function postersFor(items) {
  const ids = items.filter((s) => !hasCover(s)).map((s) => s.id);
  if (ids.length === 0) return {};
  try {
    const data = await api(`/api/posters?sessions=${ids.slice(0, 60).join(",")}`);
    return (data && data.posters) || {};
  } catch {
    return {};
  }
}

/** The host chose a cover image: it is the card's picture. */
function hasCover(session) {
  return Boolean(session.cover_url && /^(\/|https?:)/.test(session.cover_url));
}

/** A clickable show card; `poster` is the URL of a real frame of the show, if it has one. */
export function sessionCard(session, section, poster = null) {
  const host = session.host ?? {};
  const coverNode = cover(session.cover_url, session.title || String(session.id));
  if (poster && !hasCover(session)) coverNode.prepend(posterFrame(poster));
  coverNode.append(badge(cardState(section, session)), el("span", { class: "cover-time" }, cardTime(section, session)));
  return el(
    "a",
    {
      class: "show-card",
      href:
        section === "replays"
          ? `/replay.html?session=${encodeURIComponent(session.id)}`
          : `/session.html?id=${encodeURIComponent(session.id)}`,
      dataset: { sessionId: String(session.id) },
    },
    coverNode,
    el(
      "div",
      { class: "show-body" },
      el("h3", { class: "show-title" }, session.title),
      el("div", { class: "host-line" }, avatar(host), host.id ? creatorLink(host) : el("span", {}, host.display_name || host.username || "")),
    ),
  );
}

async function loadSection(section, { quiet = false } = {}) {
  const list = document.getElementById(section.list);
  if (!quiet) replaceChildren(list, skeletons(4));
  list.setAttribute("aria-busy", "true");
  try {
    const data = await api(`/api/sessions?state=${section.state}`);
    const items = (data && data.items) || [];
    if (items.length === 0) {
      list.classList.add("is-empty");
      replaceChildren(list, emptyState(section.empty[0], section.empty[1], { iconName: section.icon }));
    } else {
      list.classList.remove("is-empty");
      // upcoming shows have no frame yet; live and finished ones may
      const posters = section.state === "upcoming" ? {} : await postersFor(items);
      replaceChildren(list, items.map((s) => sessionCard(s, section.state, posters[String(s.id)])));
    }
  } catch (err) {
    if (quiet) return;
    list.classList.add("is-empty");
    const retry = el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => loadSection(section) }, "Try again");
    replaceChildren(list, emptyState("Could not load shows", err.message, { iconName: "refresh", action: retry }));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

async function main() {
  const user = await renderNav({ active: "home" });
  if (user) {
    document.getElementById("greeting-name").textContent = user.display_name || user.username;
    // an account made in the last hour is new here: "Welcome back" would not be true
    const created = Date.parse(user.created_at ?? "");
    const isNew = Number.isFinite(created) && Date.now() - created < 60 * 60 * 1000;
    document.getElementById("greeting-words").textContent = isNew ? "Welcome to LiveShop" : "Welcome back";
    document.getElementById("greeting").hidden = false;
    document.getElementById("greeting-studio").hidden = !isHost(user);
  } else {
    document.getElementById("hero").hidden = false;
  }
  await Promise.all(SECTIONS.map((s) => loadSection(s)));
  setInterval(() => {
    if (document.visibilityState === "visible") SECTIONS.forEach((s) => loadSection(s, { quiet: true }));
  }, REFRESH_MS);
}

main();
