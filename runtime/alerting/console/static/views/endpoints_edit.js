// @ts-check
/**
 * Changing an endpoint: its value, send_resolved flag and delivery rate (empty rate
 * fields go back to the channel's default). The type never changes (delete and add
 * instead). A credential channel's URL changes only with its credential in the same
 * request (the API refuses otherwise: the secret is sent to that URL).
 *
 * Only the fields the operator changed from the endpoint as loaded are sent: endpoints
 * carry no version, so sending every field would silently undo a change someone else
 * made meanwhile (a rate set through the API) to a field this form did not touch.
 * The form is rendered under its row and takes focus (its heading) when it opens.
 */
import { html, useEffect, useRef } from "../lib/html.js";
import { ErrorBox, formValues, useAction } from "../lib/ui.js";
import { channelOf } from "./endpoints_channels.js";
import { FieldError, invalidProps, numberOrNull, refuseUnreadableNumbers } from "./endpoints_fields.js";

/**
 * @param {{
 *   session: import("../lib/session.js").Session,
 *   endpoint: any,
 *   onSaved: () => void,
 *   onCancel: () => void,
 * }} props
 */
export function EndpointEditForm({ session, endpoint, onSaved, onCancel }) {
  const channel = channelOf(endpoint.type);
  const heading = useRef(/** @type {HTMLHeadingElement | null} */ (null));
  useEffect(() => {
    heading.current?.focus();
    heading.current?.scrollIntoView({ block: "nearest" });
  }, []);
  const save = useAction(async (/** @type {HTMLFormElement} */ form, /** @type {Record<string, string>} */ values) => {
    refuseUnreadableNumbers(form, ["rate_per_s", "rate_burst"]);
    const body = changedFields(endpoint, values, channel.credential !== null);
    if (Object.keys(body).length) {
      await session.api.patch(`/api/v1/endpoints/${endpoint.endpoint_id}`, body);
    }
    onSaved();
  });
  const err = save.error;
  const id = `edit-${endpoint.endpoint_id}`;
  const submit = (/** @type {Event} */ event) => {
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    save.run(form, formValues(event));
  };
  return html`<form class="stacked endpoint-form" aria-label="Edit endpoint" noValidate onSubmit=${submit}>
    <h3 id=${`${id}-h`} tabIndex="-1" ref=${heading}>Edit ${channel.title} endpoint</h3>
    <label>${channel.valueLabel}
      <input name="value" type=${channel.inputType} defaultValue=${endpoint.value} required autocomplete="off"
        ...${invalidProps(err, "value", id)} />
    </label>
    <${FieldError} error=${err} field="value" idPrefix=${id} />
    ${channel.credential
      ? html`<label>${channel.credential.label} (needed to change the URL)
            <input name="secret" type="password" autocomplete="off" ...${invalidProps(err, "secret", id)} />
          </label>
          <${FieldError} error=${err} field="secret" idPrefix=${id} />`
      : null}
    <label class="check"><input type="checkbox" name="send_resolved" defaultChecked=${endpoint.send_resolved} />
      Send resolved notifications</label>
    <p class="hint">Delivery rate; empty: the channel's default, ${channel.defaultRate}.</p>
    <div class="row">
      <label>Rate per second
        <input name="rate_per_s" type="number" step="any" min="0" defaultValue=${endpoint.rate_per_s ?? ""}
          ...${invalidProps(err, "rate_per_s", id)} />
      </label>
      <label>Burst
        <input name="rate_burst" type="number" step="1" min="1" defaultValue=${endpoint.rate_burst ?? ""}
          ...${invalidProps(err, "rate_burst", id)} />
      </label>
    </div>
    <${FieldError} error=${err} field="rate_per_s" idPrefix=${id} />
    <${FieldError} error=${err} field="rate_burst" idPrefix=${id} />
    <div class="actions">
      <button type="submit" disabled=${save.busy}>Save endpoint</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>
    <${ErrorBox} error=${err} />
  </form>`;
}

/**
 * The PATCH body: each field whose form value differs from the endpoint as loaded
 * (an empty rate field is null, the channel's default); a credential only when typed.
 * @param {any} endpoint
 * @param {Record<string, string>} values
 * @param {boolean} takesCredential
 * @returns {Record<string, unknown>}
 */
export function changedFields(endpoint, values, takesCredential) {
  /** @type {Record<string, unknown>} */
  const body = {};
  const value = values.value ?? "";
  if (value !== endpoint.value) body.value = value;
  const sendResolved = values.send_resolved === "on";
  if (sendResolved !== Boolean(endpoint.send_resolved)) body.send_resolved = sendResolved;
  const perS = numberOrNull(values.rate_per_s);
  if (perS !== (endpoint.rate_per_s ?? null)) body.rate_per_s = perS;
  const burst = numberOrNull(values.rate_burst);
  if (burst !== (endpoint.rate_burst ?? null)) body.rate_burst = burst;
  if (takesCredential && values.secret) body.secret = values.secret;
  return body;
}
