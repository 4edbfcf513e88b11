// @ts-check
/**
 * Field-level errors for the endpoint forms: the API's 422 names the field it refuses
 * (`value`, `secret`, `templates.body`, `rate_per_s`), so the message is shown under that
 * field and the field is marked invalid for assistive technology, not only in a box at
 * the end of the form.
 */
import { html } from "../lib/html.js";
import { ApiError } from "../lib/api.js";

/**
 * The API's message about one field of a failed request, or null.
 * @param {unknown} error
 * @param {string} field
 * @returns {string | null}
 */
export function fieldError(error, field) {
  if (!(error instanceof ApiError)) return null;
  const found = error.errors.filter((e) => e.field === field || e.field === `body.${field}`);
  return found.length ? found.map((e) => e.message).join("; ") : null;
}

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
 * A number field's value for the API: empty is null (the channel's default).
 * @param {string | undefined} raw
 * @returns {number | null}
 */
export function numberOrNull(raw) {
  if (raw === undefined || raw.trim() === "") return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}
