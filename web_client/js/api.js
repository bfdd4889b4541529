// LiveShop REST client shared by every page.
//
// api(path, options) talks JSON to the server, adds the bearer token kept in
// localStorage and turns `{"error": {code, message}}` answers into ApiError.

const TOKEN_KEY = "liveshop.token";

/** An error answer from the server (or a network failure, status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the request never reached the server)
   * @param {string} code machine-readable code from the error body
   * @param {string} message human-readable message from the error body
   * @param {{retryAfter?: number|null, body?: unknown, field?: string|null}} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    /** The input the error is about ("price_minor", "address.name"), or null. */
    this.field = extra.field ?? null;
    this.retryAfter = extra.retryAfter ?? null;
    this.body = extra.body ?? null;
  }
}

/** The stored session token, or null when logged out. */
export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Store the session token (and forget the cached user). */
export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
  userPromise = null;
}

/** Forget the session token (log out locally). */
export function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
  userPromise = null;
}

function messageFor(status) {
  if (status === 401) return "Please log in to continue.";
  if (status === 403) return "You are not allowed to do that.";
  if (status === 404) return "We couldn't find that.";
  if (status === 429) return "Too many requests. Please wait a moment.";
  if (status >= 500) return "The server had a problem. Please try again.";
  return "That didn't work. Please try again.";
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const err = body && typeof body === "object" ? body.error : null;
  const retry = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError(
    response.status,
    (err && typeof err.code === "string" && err.code) || `http_${response.status}`,
    (err && typeof err.message === "string" && err.message) || messageFor(response.status),
    {
      retryAfter: Number.isFinite(retry) ? retry : null,
      body,
      field: err && typeof err.field === "string" ? err.field : null,
    },
  );
}

/**
 * Call the REST API.
 *
 * @param {string} path e.g. "/api/sessions?state=live"
 * @param {object} [options]
 * @param {string} [options.method] HTTP method (default GET, or POST when a body is given)
 * @param {unknown} [options.body] JSON-encoded unless `raw` is set
 * @param {Record<string,string>} [options.headers] extra headers
 * @param {boolean} [options.raw] send `body` unchanged (Blob, File, string; set Content-Type
 *   yourself) and resolve with the fetch Response instead of parsed JSON
 * @returns {Promise<any>} parsed JSON (null for 204), or the Response when `raw`
 * @throws {ApiError} on any non-2xx answer or network failure
 */
export async function api(path, { method, body, headers = {}, raw = false } = {}) {
  const init = { method: method ?? (body === undefined ? "GET" : "POST"), headers: { ...headers } };
  const token = getToken();
  if (token && !("Authorization" in init.headers)) {
    init.headers.Authorization = `Bearer ${token}`;
  }
  if (body !== undefined) {
    if (raw) {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  if (!raw && !("Accept" in init.headers)) init.headers.Accept = "application/json";

  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

let userPromise = null;

/**
 * The logged-in user (GET /api/me, cached per page), or null when logged out.
 * An expired or revoked token is cleared.
 *
 * @param {{refresh?: boolean}} [options]
 */
export function currentUser({ refresh = false } = {}) {
  if (!getToken()) return Promise.resolve(null);
  if (!userPromise || refresh) {
    userPromise = api("/api/me")
      .then((data) => (data && data.user ? data.user : data))
      .catch((err) => {
        if (err instanceof ApiError && err.status === 401) {
          localStorage.removeItem(TOKEN_KEY);
          return null;
        }
        userPromise = null;
        throw err;
      });
  }
  return userPromise;
}

/**
 * An order's short number for people: "ord_3b47a9c2e1..." -> "#3B47A9" (the full id stays in
 * data attributes and links).
 */
export function orderNumber(id) {
  const hex = String(id ?? "").replace(/^ord_/, "");
  return hex ? `#${hex.slice(0, 6).toUpperCase()}` : "";
}

/** True when the user may use the host studio. */
export function isHost(user) {
  return Boolean(user) && (user.role === "host" || user.role === "admin");
}

const digitsCache = new Map();

/** How many minor-unit digits a currency has (EUR 2, JPY 0). */
export function currencyDigits(currency) {
  return fractionDigits(String(currency || "EUR").toUpperCase());
}

/** Minor units as the text a person types: 1999 EUR -> "19.99". */
export function amountText(minor, currency) {
  const digits = currencyDigits(currency);
  return (Number(minor) / 10 ** digits).toFixed(digits);
}

/** What a person typed ("19.99", "19,99") in minor units, or null when it is no amount. */
export function toMinor(text, currency) {
  const cleaned = String(text).trim().replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(cleaned)) return null;
  const digits = currencyDigits(currency);
  const [whole, frac = ""] = cleaned.split(".");
  if (frac.length > digits) return null;
  return Number(whole) * 10 ** digits + Number((frac + "0".repeat(digits)).slice(0, digits) || 0);
}

function fractionDigits(currency) {
  if (!digitsCache.has(currency)) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
        .maximumFractionDigits;
    } catch {
      digits = 2;
    }
    digitsCache.set(currency, digits);
  }
  return digitsCache.get(currency);
}

/**
 * Format an amount in minor units, e.g. formatPrice(1999, "EUR") -> "€19.99".
 * Currencies without minor units (JPY) are handled by Intl's digit count.
 */
export function formatPrice(minor, currency = "EUR") {
  const code = String(currency || "EUR").toUpperCase();
  const digits = fractionDigits(code);
  const amount = Number(minor) / 10 ** digits;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: code }).format(amount);
  } catch {
    return `${amount.toFixed(digits)} ${code}`;
  }
}

function sameDay(a, b) {
  return (
    a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()
  );
}

/**
 * Format an ISO time for people: "Today, 18:30", "Tomorrow, 09:00", "Thu 27 Nov, 18:30".
 * Returns "" for a missing or invalid value.
 */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (sameDay(date, now)) return `Today, ${time}`;
  if (sameDay(date, tomorrow)) return `Tomorrow, ${time}`;
  if (sameDay(date, yesterday)) return `Yesterday, ${time}`;
  const opts = { weekday: "short", day: "numeric", month: "short" };
  if (date.getFullYear() !== now.getFullYear()) opts.year = "numeric";
  return `${date.toLocaleDateString(undefined, opts)}, ${time}`;
}

/** "just now" / "2 min ago" / "in 5 min": the shared relative-time formatter (time.js). */
export { formatRelative } from "./time.js";
