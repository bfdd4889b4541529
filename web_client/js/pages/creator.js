// A creator's (or shop's) page: live now, upcoming, replays, clips and posts, and a
// Follow button. GET /api/creators/{id} (shows and clips the reader may see) and
// GET /api/users/{id}/posts; following is PUT/DELETE /api/users/{id}/follow.

import { ApiError, api, currentUser } from "../api.js";
import { clipCard, postCard, showCard } from "../discover/cards.js";
import { avatar, busy, el, emptyState, param, renderNav, replaceChildren, skeletons, toast } from "../ui.js";

const body = document.getElementById("creator-body");
const followButton = document.getElementById("follow-button");

function followers(count) {
  return count === 1 ? "1 follower" : `${count.toLocaleString()} followers`;
}

function section(id, title, items, render, empty) {
  if (!items.length && !empty) return null;
  return el(
    "section",
    { class: "section", id, "aria-label": title },
    el("div", { class: "section-head" }, el("h2", {}, title)),
    items.length ? el("div", { class: id === "creator-clips" || id === "creator-posts" ? "clip-grid" : "rail" }, items.map(render)) : el("p", { class: "muted" }, empty),
  );
}

function setFollowing(on, count) {
  followButton.setAttribute("aria-pressed", String(on));
  followButton.textContent = on ? "Following" : "Follow";
  followButton.className = on ? "btn btn-ghost" : "btn btn-primary";
  if (count !== undefined) document.getElementById("creator-meta").dataset.followers = String(count);
}

function renderMeta(page) {
  const meta = document.getElementById("creator-meta");
  meta.textContent = `@${page.creator.username} · ${followers(page.followers)}`;
}

async function main() {
  const me = await renderNav().catch(() => null);
  const id = param("id");
  if (!id || !/^\d{1,18}$/.test(id)) {
    document.getElementById("main").setAttribute("aria-busy", "false");
    replaceChildren(body, emptyState("This creator page doesn't exist", "Check the link, or search for the creator by name.", { iconName: "user", action: el("a", { class: "btn btn-primary", href: "/search.html" }, "Search") }));
    return;
  }
  replaceChildren(body, skeletons(4));
  let page;
  let posts = [];
  try {
    [page, posts] = await Promise.all([
      api(`/api/creators/${id}`),
      api(`/api/users/${id}/posts`).then((r) => r.items).catch(() => []),
    ]);
  } catch (err) {
    document.getElementById("main").setAttribute("aria-busy", "false");
    const missing = err instanceof ApiError && err.status === 404;
    replaceChildren(
      body,
      missing
        ? emptyState("This creator page doesn't exist", "Check the link, or search for the creator by name.", { iconName: "user", action: el("a", { class: "btn btn-primary", href: "/search.html" }, "Search") })
        : emptyState("Could not load this page", err.message, { iconName: "refresh", action: el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => location.reload() }, "Try again") }),
    );
    return;
  }
  const name = page.creator.display_name || page.creator.username;
  document.title = `${name} · LiveShop`;
  replaceChildren(document.getElementById("creator-avatar"), avatar(page.creator, true));
  document.getElementById("creator-name").textContent = name;
  renderMeta(page);
  document.getElementById("creator-head").hidden = false;
  if (!me || me.id !== page.creator.id) {
    followButton.hidden = false;
    setFollowing(page.following);
    followButton.addEventListener("click", () =>
      busy(followButton, async () => {
        if (!(await currentUser())) {
          location.href = `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
          return;
        }
        const on = followButton.getAttribute("aria-pressed") !== "true";
        try {
          const res = await api(`/api/users/${page.creator.id}/follow`, { method: on ? "PUT" : "DELETE" });
          page.followers = res.followers;
          setFollowing(res.following, res.followers);
          renderMeta(page);
          toast(on ? `You're following ${name}. Their clips and posts show in your Following feed.` : `You no longer follow ${name}.`, "success");
        } catch (err) {
          toast(err.message, "error");
        }
      }),
    );
  }
  const sections = [
    section("creator-live", "Live now", page.live, (s) => showCard(s, { withHost: false })),
    section("creator-upcoming", "Upcoming", page.upcoming, (s) => showCard(s, { withHost: false })),
    section("creator-replays", "Replays", page.replays, (s) => showCard(s, { withHost: false })),
    section("creator-clips", "Clips", page.clips, clipCard),
    section("creator-posts", "Posts", posts, postCard),
  ].filter(Boolean);
  document.getElementById("main").setAttribute("aria-busy", "false");
  replaceChildren(body, sections.length ? sections : emptyState(`${name} hasn't shared anything yet`, "Follow them to see their shows, clips and posts when they arrive.", { iconName: "calendar" }));
}

main();
