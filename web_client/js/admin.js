// The admin screen: find people, make them hosts or admins, disable or enable accounts,
// and read what moderators acted on across shows. The server checks every action
// (admins only); this page only asks.

import { ApiError, api, formatTime } from "./api.js";
import { avatar, busy, confirmAction, el, emptyState, renderNav, replaceChildren, skeletons, toast } from "./ui.js";

const ROLES = { viewer: "Viewer", host: "Host", admin: "Admin" };
const ACTIONS = { delete: "Message removed", timeout: "Timed out", ban: "Banned", unban: "Ban lifted" };

let me = null;
let searchTimer = null;

function person(p) {
  if (!p) return "someone";
  return p.display_name ? `${p.display_name} (@${p.username})` : `@${p.username}`;
}

async function changeRole(user, select) {
  const role = select.value;
  if (role === user.role) return;
  const name = user.display_name || user.username;
  const sure = await confirmAction({
    title: `Make ${name} ${{ viewer: "a viewer", host: "a host", admin: "an admin" }[role]}?`,
    text: role === "viewer" ? "They can no longer host shows. They'll need to log in again." : "They'll need to log in again to use their new role.",
    confirmLabel: `Make ${ROLES[role].toLowerCase()}`,
  });
  if (!sure) {
    select.value = user.role;
    return;
  }
  try {
    const updated = await busy(select, () => api(`/api/admin/users/${user.id}/role`, { method: "PUT", body: { role } }));
    Object.assign(user, updated);
    toast(`${updated.display_name || updated.username} is now ${updated.role === "admin" ? "an admin" : `a ${updated.role}`}`, "success");
  } catch (err) {
    select.value = user.role;
    toast(err instanceof ApiError ? err.message : "Could not change the role.", "error");
  }
}

async function toggleDisabled(user, row, button) {
  const disable = !user.disabled;
  if (disable) {
    const sure = await confirmAction({
      title: `Disable ${user.display_name || user.username}?`,
      text: "They are signed out everywhere and cannot log in until you enable the account again.",
      confirmLabel: "Disable account",
      danger: true,
    });
    if (!sure) return;
  }
  try {
    const updated = await busy(button, () => api(`/api/admin/users/${user.id}/disabled`, { method: "PUT", body: { disabled: disable } }));
    Object.assign(user, updated);
    row.replaceWith(userRow(user));
    toast(updated.disabled ? "Account disabled" : "Account enabled", "success");
  } catch (err) {
    toast(err instanceof ApiError ? err.message : "Could not change the account.", "error");
  }
}

function userRow(user) {
  const self = me && me.id === user.id;
  const select = el(
    "select",
    { class: "input", "aria-label": `Role of ${user.username}`, dataset: { action: "role" }, disabled: self },
    Object.entries(ROLES).map(([value, label]) => el("option", { value, selected: value === user.role }, label)),
  );
  select.addEventListener("change", () => changeRole(user, select));
  const row = el("li", { class: "list-item admin-user", dataset: { userId: String(user.id), username: user.username, disabled: String(user.disabled) } });
  const toggle = self
    ? el("span", { class: "muted small" }, "This is you")
    : el(
        "button",
        { type: "button", class: user.disabled ? "btn btn-ghost btn-small" : "btn btn-ghost btn-small btn-danger", dataset: { action: "disable" }, onclick: (event) => toggleDisabled(user, row, event.currentTarget) },
        user.disabled ? "Enable" : "Disable",
      );
  replaceChildren(
    row,
    avatar(user),
    el(
      "div",
      { class: "who" },
      el("div", { class: "name" }, user.display_name || user.username),
      el("div", { class: "muted small" }, `@${user.username} · joined ${formatTime(user.created_at)}`, user.disabled ? el("span", { class: "stock-low" }, " · disabled") : null),
    ),
    el("div", { class: "actions" }, select, toggle),
  );
  return row;
}

async function loadUsers() {
  const list = document.getElementById("user-list");
  const q = document.getElementById("user-query").value.trim();
  const role = document.getElementById("role-filter").value;
  const params = new URLSearchParams({ limit: "100" });
  if (q) params.set("q", q);
  if (role) params.set("role", role);
  list.setAttribute("aria-busy", "true");
  try {
    const { items } = await api(`/api/admin/users?${params}`);
    if (!items.length) {
      replaceChildren(list, el("li", {}, emptyState("Nobody found", q ? "Try another name or username." : "No accounts yet.", { iconName: "user" })));
    } else {
      replaceChildren(list, items.map(userRow));
    }
  } catch (err) {
    replaceChildren(list, el("li", { class: "form-error" }, err.message));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function reportRow(entry) {
  return el(
    "li",
    { class: "list-item admin-report", dataset: { action: entry.action } },
    el(
      "div",
      {},
      el("strong", {}, ACTIONS[entry.action] || "Moderation"),
      " · ",
      el("a", { href: `/session.html?id=${encodeURIComponent(entry.show.id)}` }, entry.show.title),
    ),
    el("div", { class: "small" }, entry.target ? `${person(entry.target)}, by ${person(entry.actor)}` : `By ${person(entry.actor)}`),
    entry.message ? el("blockquote", {}, entry.message) : null,
    el("div", { class: "muted small" }, formatTime(entry.created_at)),
  );
}

async function loadReports() {
  const list = document.getElementById("report-list");
  list.setAttribute("aria-busy", "true");
  try {
    const { items } = await api("/api/admin/moderation?limit=100");
    if (!items.length) {
      replaceChildren(list, el("li", {}, emptyState("Nothing flagged", "When moderators remove messages or ban viewers, it shows up here.", { iconName: "eye" })));
    } else {
      replaceChildren(list, items.map(reportRow));
    }
  } catch (err) {
    replaceChildren(list, el("li", { class: "form-error" }, err.message));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function flagRow(flag) {
  return el(
    "li",
    { class: "list-item admin-report", dataset: { flagId: String(flag.id) } },
    el("div", {}, el("strong", {}, person(flag.user)), " · ", el("a", { href: `/session.html?id=${encodeURIComponent(flag.show.id)}` }, flag.show.title)),
    el("blockquote", {}, flag.message),
    el("div", { class: "muted small" }, `Caught by “${flag.word}” · ${formatTime(flag.created_at)}`),
  );
}

async function loadFlags() {
  const list = document.getElementById("flag-list");
  list.setAttribute("aria-busy", "true");
  try {
    const { items } = await api("/api/admin/flags?limit=100");
    if (!items.length) {
      replaceChildren(list, el("li", {}, emptyState("Nothing caught", "When a show's blocked words stop a message, it shows up here.", { iconName: "eye" })));
    } else {
      replaceChildren(list, items.map(flagRow));
    }
  } catch (err) {
    replaceChildren(list, el("li", { class: "form-error" }, err.message));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function showTab(name) {
  for (const tab of ["users", "reports"]) {
    document.getElementById(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    document.getElementById(`${tab}-panel`).hidden = tab !== name;
  }
  if (name === "reports") {
    loadFlags();
    loadReports();
  }
}

me = await renderNav({ active: "admin" });
const main = document.getElementById("main");
if (!me) {
  location.href = `/login.html?next=${encodeURIComponent("/admin.html")}`;
} else if (me.role !== "admin") {
  replaceChildren(main, emptyState("Admins only", "This screen is for the people who run this LiveShop.", { iconName: "lock", action: el("a", { class: "btn btn-primary btn-small", href: "/" }, "Go home") }));
} else {
  replaceChildren(document.getElementById("user-list"), skeletons(4, "skeleton skeleton-row"));
  document.getElementById("tab-users").addEventListener("click", () => showTab("users"));
  document.getElementById("tab-reports").addEventListener("click", () => showTab("reports"));
  const form = document.getElementById("user-search");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadUsers();
  });
  document.getElementById("user-query").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadUsers, 250);
  });
  document.getElementById("role-filter").addEventListener("change", loadUsers);
  loadUsers();
}
