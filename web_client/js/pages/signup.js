// Sign up in two steps: account details, then at least 5 interests; POST /api/auth/register.

import { ApiError, api, setToken } from "../api.js";
import { clearFormErrors, showFieldError } from "../forms.js";
import { busy, el, param, renderNav, replaceChildren, safeNext, showError, toast } from "../ui.js";

let MIN_INTERESTS = 5;
const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$/;

const picked = new Set();

function showStep(step) {
  document.getElementById("account-form").hidden = step !== 1;
  document.getElementById("interests-form").hidden = step !== 2;
  document.getElementById("step-2-bar").classList.toggle("on", step === 2);
  const focus = step === 1 ? document.getElementById("username") : document.querySelector(".chip");
  if (focus) focus.focus();
}

function updateCounter() {
  const count = picked.size;
  const counter = document.getElementById("interest-counter");
  counter.textContent = `${count} of ${MIN_INTERESTS} picked`;
  counter.classList.toggle("is-done", count >= MIN_INTERESTS);
  document.getElementById("interest-progress").style.width = `${Math.min(100, (count / MIN_INTERESTS) * 100)}%`;
  document.getElementById("signup-submit").disabled = count < MIN_INTERESTS;
}

function renderChips(interests) {
  const chips = interests.map((name) =>
    el(
      "button",
      {
        type: "button",
        class: "chip",
        "aria-pressed": "false",
        dataset: { interest: name },
        onclick: (event) => {
          const chip = event.currentTarget;
          if (picked.has(name)) picked.delete(name);
          else picked.add(name);
          chip.setAttribute("aria-pressed", String(picked.has(name)));
          updateCounter();
        },
      },
      name.replace(/[-_]/g, " "),
    ),
  );
  replaceChildren(document.getElementById("interest-chips"), chips);
  updateCounter();
}

async function loadInterests() {
  const box = document.getElementById("interest-chips");
  replaceChildren(box, Array.from({ length: 10 }, () => el("span", { class: "chip skeleton", style: { width: "90px" } })));
  try {
    const data = await api("/api/interests");
    if (data && Number.isInteger(data.min) && data.min > 0) MIN_INTERESTS = data.min;
    document.getElementById("interest-min").textContent = String(MIN_INTERESTS);
    renderChips((data && data.interests) || []);
  } catch (err) {
    const retry = el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: loadInterests }, "Try again");
    replaceChildren(box, el("div", { class: "form-error" }, `Could not load interests: ${err.message}`), retry);
  }
}

function checkAccount(form) {
  const username = form.username.value.trim();
  if (!USERNAME_RE.test(username)) {
    return {
      field: "username",
      message: "Usernames are 3 to 32 letters, numbers, dots, dashes or underscores, starting with a letter or number.",
    };
  }
  if (form.password.value.length < 8) return { field: "password", message: "Passwords need at least 8 characters." };
  return null;
}

// The forms are wired before anything is awaited (see login.js).
function main() {
  const accountForm = document.getElementById("account-form");
  const interestsForm = document.getElementById("interests-form");
  const accountError = document.getElementById("account-error");
  const interestsError = document.getElementById("interests-error");
  const interestsLoaded = loadInterests();

  accountForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = checkAccount(accountForm);
    clearFormErrors(accountForm, accountError);
    if (problem) {
      showFieldError(accountForm, problem, { box: accountError });
      return;
    }
    await interestsLoaded;
    showStep(2);
  });
  document.getElementById("interests-back").addEventListener("click", () => showStep(1));

  interestsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(interestsError, null);
    if (picked.size < MIN_INTERESTS) {
      showError(interestsError, `Pick at least ${MIN_INTERESTS} interests.`);
      return;
    }
    const body = {
      username: accountForm.username.value.trim(),
      password: accountForm.password.value,
      display_name: accountForm.display_name.value.trim() || accountForm.username.value.trim(),
      interests: [...picked],
    };
    try {
      const data = await busy(document.getElementById("signup-submit"), () =>
        api("/api/auth/register", { body }),
      );
      setToken(data.token);
      toast(`Welcome to LiveShop, ${data.user.display_name || data.user.username}!`, "success");
      location.assign(safeNext(param("next")) ?? "/");
    } catch (err) {
      updateCounter();
      const message = err instanceof ApiError ? err.message : "Something went wrong. Please try again.";
      // Interest problems stay on this step; account problems (taken username...) go back
      // to the account step, under the input they are about.
      if (err instanceof ApiError && err.field !== "interests" && (err.status === 409 || !/interest/i.test(message))) {
        showStep(1);
        showFieldError(accountForm, err, { box: accountError });
      } else {
        showError(interestsError, message);
      }
    }
  });
  renderNav();
}

main();
