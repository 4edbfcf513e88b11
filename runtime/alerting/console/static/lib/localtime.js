// @ts-check
/**
 * datetime-local inputs and the API: the operator types wall-clock times in the
 * browser's zone, the API (and a shared URL) carry UTC RFC 3339 instants, so a link
 * means the same moment in every zone. One pair of conversions for every view.
 */

/** @param {number} n */
const two = (n) => String(n).padStart(2, "0");

/**
 * An instant as a datetime-local input's value (the browser's zone, to the minute);
 * "" when absent or not a time.
 * @param {string | Date | null | undefined} when an ISO string or a Date
 * @returns {string}
 */
export function toLocalInput(when) {
  if (!when) return "";
  const d = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/**
 * A datetime-local value (read in the browser's zone) as UTC RFC 3339; null when empty
 * or not a time.
 * @param {string | null | undefined} value
 * @returns {string | null}
 */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
