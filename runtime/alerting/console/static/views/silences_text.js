// @ts-check
/**
 * How a silence reads as text (matchers, a weekly schedule) and the zones its form
 * offers. Kept apart from the views so the list, the detail and the form say the same
 * thing the same way. (Local time <-> UTC: lib/localtime.js.)
 */

/**
 * @typedef {import("../lib/types.js").Matcher} Matcher
 * @typedef {import("../lib/types.js").WeeklyRange} WeeklyRange
 * @typedef {import("../lib/types.js").Schedule} Schedule
 * @typedef {import("../lib/types.js").Silence} Silence
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
