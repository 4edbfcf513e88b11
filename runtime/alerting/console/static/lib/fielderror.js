// @ts-check
/**
 * Field-level errors: a 422's problem+json names each refused field in errors[].field
 * (`client_id`, `matchers[1].value`, `templates.body`; sometimes prefixed `body.`), so a
 * form shows the message under that field and marks the field invalid, not only in a
 * box at the end of the form.
 */
import { html } from "./html.js";
import { ApiError } from "./api.js";

/**
 * The API's message(s) about one field of a failed request, or null.
 * @param {unknown} error the action's error (anything but an ApiError has no fields)
 * @param {string} field the field's name as the API spells it
 * @returns {string | null}
 */
export function fieldError(error, field) {
  if (!(error instanceof ApiError)) return null;
  const found = error.errors.filter((e) => e.field === field || e.field === `body.${field}`);
  return found.length ? found.map((e) => e.message).join("; ") : null;
}

/**
 * The message under a field (nothing when the field is fine); give the input
 * aria-describedby=id and aria-invalid when there is one.
 * @param {{id: string, message: string | null}} props
 */
export function FieldError({ id, message }) {
  return message ? html`<p class="field-error" id=${id}>${message}</p>` : null;
}
