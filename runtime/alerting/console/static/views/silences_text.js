// @ts-check
/**
 * How a silence reads as text (matchers, a weekly schedule) and the time conversions of
 * its form: the operator types wall-clock times in the browser's zone, the API takes
 * UTC RFC 3339. Kept apart from the views so the list, the detail and the form say the
 * same thing the same way.
 */

/**
 * @typedef {{name: string, op: string, value: string}} Matcher
 * @typedef {{days: string[], start: string, end: string}} WeeklyRange
 * @typedef {{time_zone: string, ranges: WeeklyRange[]}} Schedule
 * @typedef {{silence_id: string, client_id: string, matchers: Matcher[], starts_at: string,
 *   ends_at: string | null, comment: string, schedule: Schedule | null, created_by: string,
 *   version: number, state: "active" | "pending" | "expired", created_at: string,
 *   updated_at: string, expired_at: string | null, live: boolean}} Silence
 */

export const OPS = ["=", "!=", "=~", "!~"];
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const STATES = ["active", "pending", "expired"];
/** The alert fields "create from an alert" turns into `=` matchers, in this order. */
export const ALERT_FIELDS = ["severity", "source", "name"];

/** @param {Matcher} m */
export function matcherText(m) {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

/** @param {Matcher[]} matchers */
export function matchersText(matchers) {
  return matchers.map(matcherText).join(", ");
}

/** @param {WeeklyRange} r */
export function rangeText(r) {
  return `${r.days.join(",")} ${r.start}–${r.end}`;
}

/** @param {Schedule} s */
export function scheduleText(s) {
  return `${s.ranges.map(rangeText).join("; ")} (${s.time_zone})`;
}

/** @param {number} n */
const two = (n) => String(n).padStart(2, "0");

/**
 * A Date as a datetime-local input's value (the browser's zone, to the minute).
 * @param {Date} d
 */
export function localInput(d) {
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/**
 * A datetime-local value (read in the browser's zone) as the UTC RFC 3339 the API takes;
 * null when empty or not a time.
 * @param {string} value
 */
export function utcOf(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The browser's IANA zone (a maintenance window's default). */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Every IANA zone the browser knows, UTC and the browser's own included. */
export function zones() {
  /** @type {string[]} */
  let known = [];
  try {
    known = /** @type {any} */ (Intl).supportedValuesOf("timeZone");
  } catch {
    known = [];
  }
  return [...new Set(["UTC", browserZone(), ...known])].sort();
}
