// A chat list: appends messages, keeps the newest in view unless the reader scrolled up,
// shows the sender's own messages as pending until the server echoes them, and removes
// deleted ones. Text is always rendered with textContent, never as HTML.

import { el } from "../ui.js";

let pendingCounter = 0;

export class ChatList {
  /**
   * @param {HTMLElement} container  where the list goes
   * @param {{actions?: (message) => HTMLElement[] | null}} options  per-message buttons (moderators)
   */
  constructor(container, { actions = null, max = 200 } = {}) {
    this.actions = actions;
    this.max = max;
    this.list = el("ol", { class: "chat-list", "aria-live": "polite", "aria-relevant": "additions" });
    this.more = el("button", { type: "button", class: "chat-more", hidden: true, onclick: () => this.toBottom() }, "New messages ↓");
    this.stick = true;
    this.list.addEventListener("scroll", () => {
      this.stick = this.isAtBottom();
      if (this.stick) this.more.hidden = true;
    });
    container.append(this.list, this.more);
  }

  toBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.stick = true;
    this.more.hidden = true;
  }

  /** Replace everything with a snapshot's messages. */
  reset(messages) {
    this.list.replaceChildren();
    for (const m of messages) this.add(m, { scroll: false });
    this.toBottom();
  }

  row(message, pending = false) {
    const li = el(
      "li",
      { class: pending ? "chat-msg is-pending" : "chat-msg", dataset: { id: String(message.id ?? ""), userId: String(message.user?.id ?? "") } },
      el("span", { class: "chat-author" }, message.user?.name ?? ""),
      " ",
      el("span", { class: "chat-text" }, message.text),
    );
    if (!pending && this.actions) {
      const buttons = this.actions(message);
      if (buttons && buttons.length) li.append(el("span", { class: "chat-actions" }, buttons));
    }
    return li;
  }

  /** Show one of our own messages before the server confirms it; returns its client id. */
  addPending(text, user) {
    const clientId = `c${Date.now().toString(36)}${(pendingCounter += 1)}`;
    const li = this.row({ text, user: { id: user?.id, name: user?.display_name || user?.username || "You" } }, true);
    li.dataset.clientId = clientId;
    this.list.append(li);
    this.toBottom();
    return clientId;
  }

  /** The server refused a pending message: mark it failed with the reason. */
  failPending(clientId, why) {
    const li = this.list.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
    if (!li) return;
    li.classList.remove("is-pending");
    li.classList.add("is-failed");
    li.append(el("span", { class: "chat-error" }, why));
  }

  /** A message from the room (ours replaces its pending row). */
  add(message, { scroll = true } = {}) {
    if (message.id != null && this.list.querySelector(`[data-id="${CSS.escape(String(message.id))}"]`)) return;
    const row = this.row(message);
    // Where the reader is right now, not what the last scroll event said: scroll events
    // arrive a frame late, and a message landing in between must not yank the list down.
    if (scroll) this.stick = this.isAtBottom();
    const pending = message.client_id
      ? this.list.querySelector(`[data-client-id="${CSS.escape(message.client_id)}"]`)
      : null;
    if (pending) pending.replaceWith(row);
    else this.list.append(row);
    while (this.list.children.length > this.max) this.list.firstElementChild.remove();
    if (!scroll) return;
    if (this.stick) this.toBottom();
    else this.more.hidden = false;
  }

  isAtBottom() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 24;
  }

  remove(messageId) {
    this.list.querySelector(`[data-id="${CSS.escape(String(messageId))}"]`)?.remove();
  }
}
