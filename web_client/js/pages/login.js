// Log in: POST /api/auth/login, then go to ?next=, the studio (hosts) or home.

import { ApiError, api, isHost, setToken } from "../api.js";
import { clearFormErrors, showFieldError } from "../forms.js";
import { busy, param, renderNav, safeNext, showError } from "../ui.js";

/** Where a freshly logged-in user should land. */
function landingFor(user) {
  return safeNext(param("next")) ?? (isHost(user) ? "/studio.html" : "/");
}

function describe(err) {
  if (!(err instanceof ApiError)) return "Something went wrong. Please try again.";
  if (err.status === 429) {
    const wait = err.retryAfter && !/try again/i.test(err.message) ? ` Try again in ${err.retryAfter} s.` : "";
    return `${err.message.replace(/\.?$/, ".")}${wait}`;
  }
  if (err.status === 401) return err.message || "Wrong username or password.";
  return err.message;
}

// The form is wired before anything is awaited, so a quick "Log in" is never lost to the
// nav still loading.
function main() {
  const next = safeNext(param("next"));
  if (next) document.getElementById("signup-link").href = `/signup.html?next=${encodeURIComponent(next)}`;
  const form = document.getElementById("login-form");
  const errorBox = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(form, errorBox);
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      const field = username ? "password" : "username";
      showFieldError(form, { field, message: username ? "Enter your password." : "Enter your username." }, { box: errorBox });
      return;
    }
    try {
      const data = await busy(submit, () => api("/api/auth/login", { body: { username, password } }));
      setToken(data.token);
      location.assign(landingFor(data.user));
    } catch (err) {
      // a wrong username or password is about both: the message goes above the form
      showFieldError(form, { field: err?.field ?? null, message: describe(err) }, { box: errorBox });
      form.password.select();
    }
  });
  renderNav();
}

main();
