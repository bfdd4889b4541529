// Relative times for people, shared by every page: "just now", "2 min ago", "3 h ago",
// "yesterday", "4 days ago", an older date as "12 Mar"; ahead: "in 5 min", "in 2 h",
// "tomorrow", "in 3 days". A moment under a minute away either way (a comment posted this
// second, a device clock a little off) is "just now", never "in 0 s". Pure: `now` can be
// given (tests).

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function count(n, unit) {
  return `${n} ${unit}`;
}

/**
 * How far an ISO time is from `now` (ms since the epoch), in words.
 * Returns "" for a missing or invalid value.
 */
export function formatRelative(iso, now = Date.now()) {
  if (!iso) return "";
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return "";
  const diff = at - now;
  const abs = Math.abs(diff);
  if (abs < MINUTE) return "just now";
  let text;
  if (abs < HOUR) text = count(Math.min(59, Math.max(1, Math.round(abs / MINUTE))), "min");
  else if (abs < DAY) text = count(Math.min(23, Math.max(1, Math.round(abs / HOUR))), "h");
  else if (abs < 2 * DAY) return diff < 0 ? "yesterday" : "tomorrow";
  else if (abs < 7 * DAY) text = count(Math.round(abs / DAY), "days");
  else {
    const date = new Date(at);
    const opts = { day: "numeric", month: "short" };
    if (date.getFullYear() !== new Date(now).getFullYear()) opts.year = "numeric";
    return date.toLocaleDateString(undefined, opts);
  }
  return diff < 0 ? `${text} ago` : `in ${text}`;
}
