// The moderation panel: chat with per-message delete / timeout / ban, pin and unpin from
// the line-up, slow mode, blocked words and the moderation log. The moderator console
// shows all of it; the host studio mounts the compact version (chat and pins) and places
// its two sections itself (`chatSection`, `pinsSection`; `pinExtras(product, isPinned)` adds
// buttons to a line-up row, e.g. the studio's "Flash sale").

import { formatPrice, formatTime } from "../api.js";
import { ChatList } from "../room/chat.js";
import { openRoom, reason } from "../room/socket.js";
import { confirmAction, el, toast } from "../ui.js";

const TIMEOUTS = [60, 300, 600];

function section(title, ...children) {
  return el("section", { class: "card section mod-section" }, el("h2", {}, title), ...children);
}

/** What a moderation log entry says, in words: the person and the product by name. */
function logWords(e, who, what) {
  const reason = e.detail ? [` · ${e.detail}`] : [];
  switch (e.action) {
    case "delete":
      return ["deleted a message from ", who, ...(e.detail ? [` · “${e.detail}”`] : [])];
    case "timeout":
      return ["timed out ", who, ...reason];
    case "ban":
      return ["banned ", who, ...reason];
    case "unban":
      return ["unbanned ", who];
    case "pin":
      return ["pinned ", what];
    case "unpin":
      return ["unpinned ", what];
    case "slow_mode":
      return [e.detail && e.detail !== "0 s" ? `set slow mode to one message every ${e.detail}` : "turned slow mode off"];
    case "allow_anonymous":
      return [e.detail === "True" ? "let signed-out viewers watch" : "asked viewers to sign in to watch"];
    case "blocked_words":
      return [`updated the blocked words${e.detail ? ` (${e.detail})` : ""}`];
    default:
      return [e.action.replaceAll("_", " "), ...reason];
  }
}

/**
 * Mount the panel for `session` (as returned by GET /api/sessions/{id}) into `container`.
 * Returns {close()} to leave the room (e.g. when the studio selects another session).
 */
export function mountModeration(container, initialSession, { compact = false, pinExtras = null } = {}) {
  let session = initialSession;
  const sessionId = session.id;
  let pinned = [];
  let room = null;
  const ask = async (event, payload, done) => {
    const ack = await room.call(event, { session_id: sessionId, ...payload });
    if (ack.error) toast(reason(ack), "error");
    else if (done) done(ack);
    return ack;
  };

  // -- chat with actions ------------------------------------------------------------------
  const chatBox = el("div", { class: "mod-chat", id: "mod-chat" });
  const chat = new ChatList(chatBox, {
    actions: (m) => {
      if (!m.user || m.user.id === session.host?.id) return null;
      const name = m.user.name;
      return [
        el("button", { type: "button", class: "mod-delete", title: "Delete for everyone", onclick: () => ask("mod:delete", { message_id: m.id }) }, "Delete"),
        el(
          "button",
          {
            type: "button",
            class: "mod-timeout",
            title: "Time out for 5 minutes",
            onclick: () => ask("mod:timeout", { user_id: m.user.id, seconds: TIMEOUTS[1] }, () => toast(`${name} is timed out for 5 minutes`)),
          },
          "Timeout",
        ),
        el(
          "button",
          {
            type: "button",
            class: "mod-ban danger",
            title: "Ban from this show",
            onclick: async () => {
              const ok = await confirmAction({ title: `Ban ${name}?`, text: "They lose this show's video, chat and shopping on every device, and cannot come back unless you unban them.", confirmLabel: "Ban", danger: true });
              if (ok) ask("mod:ban", { user_id: m.user.id }, () => toast(`${name} is banned`));
            },
          },
          "Ban",
        ),
      ];
    },
  });
  const input = el("input", { class: "chat-input", maxlength: "500", placeholder: "Message as moderator…", "aria-label": "Chat message", disabled: true });
  const send = el("button", { type: "submit", class: "btn btn-primary btn-small", disabled: true }, "Send");
  const form = el("form", { class: "chat-form" }, input, send);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const clientId = chat.addPending(text, null);
    const ack = await room.call("chat:send", { session_id: sessionId, text, client_id: clientId });
    if (ack.ok) chat.add(ack.message);
    else chat.failPending(clientId, reason(ack));
  });
  chatBox.append(form);

  // -- pins -------------------------------------------------------------------------------
  const pinList = el("ul", { class: "pin-list", id: "pin-list" });
  const renderPins = () => {
    const products = session.products ?? [];
    if (!products.length) {
      pinList.replaceChildren(el("li", { class: "muted" }, "Add products to the line-up to pin them."));
      return;
    }
    pinList.replaceChildren(
      ...products.map((p) => {
        const isPinned = pinned.includes(p.id);
        return el(
          "li",
          { class: isPinned ? "pin-row is-pinned" : "pin-row", id: `pin-row-${p.id}`, dataset: { productId: String(p.id) } },
          el("span", { class: "grow" }, p.title),
          el("span", { class: "muted small" }, formatPrice(p.price_minor, p.currency)),
          el(
            "button",
            {
              type: "button",
              class: isPinned ? "btn btn-ghost btn-small pin-toggle" : "btn btn-primary btn-small pin-toggle",
              onclick: () =>
                ask(isPinned ? "pin:remove" : "pin:add", { product_id: p.id }, (ack) => {
                  pinned = ack.pinned;
                  renderPins();
                }),
            },
            isPinned ? "Unpin" : "Pin",
          ),
          pinExtras ? pinExtras(p, isPinned) : null,
        );
      }),
    );
  };
  const pinsSection = section("Pinned products", el("p", { class: "muted small" }, "Up to 3 at once. Viewers see them over the video."), pinList);

  // -- settings, blocked words, log (full console only) -------------------------------------
  const slow = el("select", { id: "slow-mode", "aria-label": "Slow mode" },
    [0, 5, 10, 30, 60].map((s) => el("option", { value: String(s) }, s ? `One message every ${s} s` : "Off")));
  slow.addEventListener("change", () => ask("mod:settings", { slow_mode_seconds: Number(slow.value) }));
  const words = el("textarea", { class: "words-input", id: "blocked-words", placeholder: "One word or phrase per line" });
  const saveWords = el("button", { type: "button", class: "btn btn-primary btn-small", id: "save-words" }, "Save blocked words");
  saveWords.addEventListener("click", () => {
    const list = words.value.split("\n").map((w) => w.trim()).filter(Boolean);
    ask("mod:blocked_words", { words: list }, (ack) => {
      words.value = ack.words.join("\n");
      toast("Blocked words saved");
    });
  });
  const log = el("ol", { class: "mod-log", id: "mod-log" });
  const showMessagesOf = (event, userId) => {
    event.preventDefault();
    const theirs = [...chatBox.querySelectorAll(".chat-msg")].filter((li) => li.dataset.userId === String(userId));
    for (const li of chatBox.querySelectorAll(".chat-msg.is-highlighted")) li.classList.remove("is-highlighted");
    for (const li of theirs) li.classList.add("is-highlighted");
    (theirs.at(-1) ?? chatBox).scrollIntoView({ block: "nearest", behavior: "smooth" });
  };
  const unban = (user) =>
    ask("mod:unban", { user_id: user.id }, () => toast(`${user.name} can watch this show again`));
  const logLine = (e) => {
    const user = e.target_user;
    // the person links to their messages in the chat above, the product to its pin row
    const who = user
      ? el("a", { class: "mod-log-user", href: "#mod-chat", dataset: { userId: String(user.id) }, onclick: (event) => showMessagesOf(event, user.id) }, user.name)
      : "someone";
    const what = e.product ? el("a", { class: "mod-log-product", href: `#pin-row-${e.product.id}` }, e.product.title) : "a product";
    const words = logWords(e, who, what);
    const action =
      e.action === "ban" && user
        ? el("button", { type: "button", class: "btn btn-ghost btn-small mod-log-unban", onclick: () => unban(user) }, "Unban")
        : null;
    return el("li", { dataset: { action: e.action } }, el("strong", {}, e.actor.name), " ", ...words, el("span", { class: "muted" }, ` · ${formatTime(e.created_at)}`), action ? " " : "", action);
  };

  const chatSection = section("Live chat", chatBox);
  const layout = compact
    ? el("div", { class: "mod-grid room-panel" }, chatSection, pinsSection)
    : el(
        "div",
        { class: "mod-grid" },
        chatSection,
        el(
          "div",
          { class: "stack" },
          pinsSection,
          section("Slow mode", el("label", { class: "field" }, el("span", {}, "Limit each viewer to"), slow)),
          section("Blocked words", el("p", { class: "muted small" }, "Whole words, any case. Messages with them are refused."), words, el("div", { class: "row", style: { "margin-top": "8px" } }, saveWords)),
          section("Moderation log", log),
        ),
      );
  container.replaceChildren(layout);

  room = openRoom(sessionId, {
    async onSnapshot(snap) {
      if (!snap.me.is_moderator) {
        container.replaceChildren(el("p", { class: "muted" }, "Only the host and this show's moderators can moderate it."));
        return;
      }
      chat.reset(snap.messages);
      input.disabled = send.disabled = false;
      pinned = snap.pins.map((c) => c.product_id);
      renderPins();
      slow.value = String(snap.settings.slow_mode_seconds);
      if (![...slow.options].some((o) => o.selected)) slow.append(el("option", { value: slow.value, selected: true }, `${slow.value} s`));
      words.value = (snap.blocked_words ?? []).join("\n");
      if (!compact) {
        const ack = await room.call("mod:log", { session_id: sessionId, limit: 50 });
        if (ack.ok) log.replaceChildren(...ack.entries.map(logLine));
      }
    },
    onError: (error) => toast(error.message, "error"),
    on: {
      "chat:message": (m) => chat.add(m),
      "chat:removed": (r) => chat.remove(r.message_id),
      "room:tick": (t) => {
        if (t.pins) {
          pinned = t.pins.map((c) => c.product_id);
          renderPins();
        }
      },
      "room:settings": (s) => {
        slow.value = String(s.slow_mode_seconds);
      },
      "mod:log_entry": (e) => log.prepend(logLine(e)),
    },
  });
  return {
    room,
    chatSection,
    pinsSection,
    close: () => room.close(),
    /** The studio refreshed the session (e.g. its line-up changed). */
    setSession(next) {
      session = next;
      renderPins();
    },
  };
}
