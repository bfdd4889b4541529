// Smiles, comments and follows from the feed. Comment text is rendered as text only.

import { api, currentUser, formatRelative } from "../api.js";
import { busy, el, openSheet, toast } from "../ui.js";
import { shortCount } from "./card.js";

const base = (item) => `/api/${item.type}s/${item.id}`;

async function requireLogin() {
  const user = await currentUser();
  if (!user) location.href = `/login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
  return user;
}

function setCount(card, name, value) {
  const node = card && card.querySelector(`[data-count="${name}"]`);
  if (node) node.textContent = shortCount(value);
}

/** Toggle the viewer's smile on an item. */
export async function toggleSmile(item, button) {
  if (!(await requireLogin())) return;
  const on = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(on));
  try {
    const res = await api(`${base(item)}/smile`, { method: on ? "PUT" : "DELETE" });
    item.smiled = res.smiled;
    item.counts.smiles = res.smiles;
    setCount(button.closest(".feed-item"), "smile", res.smiles);
  } catch (err) {
    button.setAttribute("aria-pressed", String(!on));
    toast(err.message, "error");
  }
}

/** Follow or unfollow the item's creator. */
export async function toggleFollow(item, button) {
  if (!(await requireLogin())) return;
  const on = button.getAttribute("aria-pressed") !== "true";
  try {
    await api(`/api/users/${item.creator.id}/follow`, { method: on ? "PUT" : "DELETE" });
    for (const other of document.querySelectorAll(".feed-follow")) {
      const card = other.closest(".feed-item");
      if (card && card.dataset.creatorId === String(item.creator.id)) {
        other.setAttribute("aria-pressed", String(on));
        other.textContent = on ? "Following" : "Follow";
      }
    }
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? "Following" : "Follow";
  } catch (err) {
    toast(err.message, "error");
  }
}

function commentNode(c) {
  return el("li", { class: "comment", dataset: { commentId: String(c.id) } }, el("b", {}, c.user.display_name || "Someone"), el("span", { class: "text" }, c.text), " ", el("span", { class: "muted small" }, formatRelative(c.created_at)));
}

function emptyNote() {
  return el("li", { class: "muted", id: "no-comments" }, "No comments yet. Say something nice!");
}

/** Open the comments sheet of an item. */
export async function openComments(item, card) {
  const list = el("ul", { class: "comment-list list", id: "comment-list", "aria-busy": "true" });
  // comments posted from this sheet, newest first: they stay when the list (re)loads
  const posted = [];
  const input = el("textarea", { id: "comment-text", rows: "2", maxlength: "500", placeholder: "Add a comment…", "aria-label": "Comment" });
  const send = el("button", { type: "submit", class: "btn btn-primary", id: "comment-send" }, "Send");
  const form = el("form", { class: "inline-form", id: "comment-form" }, input, send);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!(await requireLogin())) return;
    const text = input.value.trim();
    if (!text) return;
    try {
      const comment = await busy(send, () => api(`${base(item)}/comments`, { body: { text } }));
      input.value = "";
      posted.unshift(comment);
      list.querySelector("#no-comments")?.remove();
      list.prepend(commentNode(comment));
      item.counts.comments += 1;
      setCount(card, "comment", item.counts.comments);
    } catch (err) {
      toast(err.message, "error");
    }
  });
  openSheet({ title: "Comments", id: "comments-sheet", content: [list, form] });
  try {
    const data = await api(`${base(item)}/comments?limit=50`);
    // a comment posted while the list was loading is kept (and not shown twice)
    const loaded = new Set(data.items.map((c) => String(c.id)));
    const mine = posted.filter((c) => !loaded.has(String(c.id)));
    const comments = [...mine, ...data.items];
    list.replaceChildren(...comments.map(commentNode));
    if (!comments.length) list.append(emptyNote());
  } catch (err) {
    toast(err.message, "error");
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

/** The interest picker (same vocabulary as sign-up); saving re-ranks the feed. */
export async function openInterests(user, onSaved) {
  const { interests, min } = await api("/api/interests");
  const picked = new Set(user.interests || []);
  const save = el("button", { type: "button", class: "btn btn-primary btn-block", id: "interests-save" }, "Update my feed");
  const counter = el("p", { class: "muted small" });
  const refresh = () => {
    counter.textContent = `${picked.size} picked (at least ${min})`;
    save.disabled = picked.size < min;
  };
  const chips = interests.map((name) => {
    const chip = el("button", { type: "button", class: "chip", "aria-pressed": String(picked.has(name)), dataset: { interest: name } }, name);
    chip.addEventListener("click", () => {
      if (picked.has(name)) picked.delete(name);
      else picked.add(name);
      chip.setAttribute("aria-pressed", String(picked.has(name)));
      refresh();
    });
    return chip;
  });
  save.addEventListener("click", async () => {
    try {
      await busy(save, () => api("/api/me/interests", { method: "PUT", body: { interests: [...picked] } }));
      toast("Your feed is updated.", "success");
      onSaved();
    } catch (err) {
      toast(err.message, "error");
    }
  });
  refresh();
  openSheet({ title: "Your interests", id: "interests-sheet", content: [el("div", { class: "chips" }, chips), counter, save] });
}
