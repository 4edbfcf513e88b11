// @ts-check
/**
 * Changing an endpoint: its value, send_resolved flag and delivery rate (empty rate
 * fields go back to the channel's default). The type never changes (delete and add
 * instead). A credential channel's URL changes only with its credential in the same
 * request (the API refuses otherwise: the secret is sent to that URL).
 */
import { html } from "../lib/html.js";
import { ErrorBox, formValues, useAction } from "../lib/ui.js";
import { channelOf } from "./endpoints_channels.js";
import { FieldError, invalidProps, numberOrNull } from "./endpoints_fields.js";

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
  const save = useAction(async (/** @type {Record<string, string>} */ values) => {
    /** @type {Record<string, unknown>} */
    const body = {
      send_resolved: values.send_resolved === "on",
      rate_per_s: numberOrNull(values.rate_per_s),
      rate_burst: numberOrNull(values.rate_burst),
    };
    if ((values.value ?? "") !== endpoint.value) body.value = values.value ?? "";
    if (channel.credential && values.secret) body.secret = values.secret;
    await session.api.patch(`/api/v1/endpoints/${endpoint.endpoint_id}`, body);
    onSaved();
  });
  const err = save.error;
  const id = `edit-${endpoint.endpoint_id}`;
  return html`<form class="stacked endpoint-form" aria-label="Edit endpoint" noValidate
      onSubmit=${(/** @type {Event} */ e) => save.run(formValues(e))}>
    <h3>Edit ${channel.title} endpoint</h3>
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
