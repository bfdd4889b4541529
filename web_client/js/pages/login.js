// Log in: POST /api/auth/login, then go to ?next=, the studio (hosts) or home.

import { ApiError, api, isHost, setToken } from "../api.js";
import { busy, param, renderNav, safeNext, showError } from "../ui.js";

/** Where a freshly logged-in user should land. */
function landingFor(user) {
  return safeNext(param("next")) ?? (isHost(user) ? "/studio.html" : "/");
}

function describe(err) {
  if (!(err instanceof ApiError)) return "Something went wrong. Please try again.";
  if (err.status === 429) {
    const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : "";
    return `${err.message}${wait}`;
  }
  if (err.status === 401) return err.message || "Wrong username or password.";
  return err.message;
}

async function main() {
  await renderNav();
  const next = safeNext(param("next"));
  if (next) document.getElementById("signup-link").href = `/signup.html?next=${encodeURIComponent(next)}`;
  const form = document.getElementById("login-form");
  const errorBox = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(errorBox, null);
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      showError(errorBox, "Enter your username and password.");
      return;
    }
    try {
      const data = await busy(submit, () => api("/api/auth/login", { body: { username, password } }));
      setToken(data.token);
      location.assign(landingFor(data.user));
    } catch (err) {
      showError(errorBox, describe(err));
      form.password.select();
    }
  });
}

main();
