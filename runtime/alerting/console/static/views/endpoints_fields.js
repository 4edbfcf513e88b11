// @ts-check
/**
 * Field-level errors for the endpoint forms: the API's 422 names the field it refuses
 * (`value`, `secret`, `templates.body`, `rate_per_s`), so the message is shown under that
 * field and the field is marked invalid for assistive technology, not only in a box at
 * the end of the form.
 */
import { html } from "../lib/html.js";
import { ApiError } from "../lib/api.js";
import { fieldError } from "../lib/fielderror.js";

/**
 * The attributes that tie an input to its error message (spread into the input).
 * @param {unknown} error
 * @param {string} field
 * @param {string} idPrefix unique per form
 */
export function invalidProps(error, field, idPrefix) {
  const message = fieldError(error, field);
  return message
    ? { "aria-invalid": "true", "aria-describedby": `${idPrefix}-${field}-error` }
    : { "aria-invalid": undefined, "aria-describedby": undefined };
}

/**
 * The error message under a field (nothing when the field is fine).
 * @param {{error: unknown, field: string, idPrefix: string}} props
 */
export function FieldError({ error, field, idPrefix }) {
  const message = fieldError(error, field);
  if (!message) return null;
  return html`<span class="field-error" id=${`${idPrefix}-${field}-error`}>${message}</span>`;
}

/**
 * Refuse a form whose number fields hold what the browser cannot read ("1,5" in an
 * English locale, "1e"): such a field's value is "" to scripts, which would read as
 * "empty: the channel's default" and clear the stored rate. Thrown as a 422-shaped
 * ApiError so the message lands on the field like the API's own refusals.
 * @param {HTMLFormElement} form
 * @param {string[]} names the number fields' names
 */
export function refuseUnreadableNumbers(form, names) {
  const errors = [];
  for (const name of names) {
    const input = form.elements.namedItem(name);
    if (input instanceof HTMLInputElement && input.validity.badInput) {
      errors.push({ field: name, message: "not a number: use digits and a dot (0.5)" });
    }
  }
  if (errors.length) {
    throw new ApiError(0, "Not sent", "a number field holds something that is not a number", errors, {});
  }
}

/**
 * A number field's value for the API: empty is null (the channel's default).
 * @param {string | undefined} raw
 * @returns {number | null}
 */
export function numberOrNull(raw) {
  if (raw === undefined || raw.trim() === "") return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}
