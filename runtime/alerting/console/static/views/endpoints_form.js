// @ts-check
/**
 * Adding an endpoint to a rule: the type select decides the other fields (the value's
 * label and example, a credential where the channel takes one, the channel's template
 * names, its default delivery rate). A webhook's signing secret comes back in the
 * answer only, so it is shown once (SecretOnce) by the panel.
 */
import { html, useState } from "../lib/html.js";
import { ErrorBox, formValues, useAction } from "../lib/ui.js";
import { CHANNELS, channelOf } from "./endpoints_channels.js";
import { FieldError, invalidProps, numberOrNull, refuseUnreadableNumbers } from "./endpoints_fields.js";

/**
 * @param {{
 *   session: import("../lib/session.js").Session,
 *   ruleId: string,
 *   onCreated: (created: any) => void,
 * }} props
 */
export function EndpointCreateForm({ session, ruleId, onCreated }) {
  const [type, setType] = useState("webhook");
  const channel = channelOf(type);
  const create = useAction(async (/** @type {HTMLFormElement} */ form, /** @type {Record<string, string>} */ values) => {
    refuseUnreadableNumbers(form, ["rate_per_s", "rate_burst"]);
    /** @type {Record<string, unknown>} */
    const body = { type, value: values.value ?? "", send_resolved: values.send_resolved === "on" };
    if (channel.credential) body.secret = values.secret ?? "";
    /** @type {Record<string, string>} */
    const templates = {};
    for (const t of channel.templates) {
      const source = values[`template.${t.name}`];
      if (source) templates[t.name] = source;
    }
    if (Object.keys(templates).length) body.templates = templates;
    const perS = numberOrNull(values.rate_per_s);
    const burst = numberOrNull(values.rate_burst);
    if (perS !== null) body.rate_per_s = perS;
    if (burst !== null) body.rate_burst = burst;
    const made = await session.api.post(`/api/v1/rules/${encodeURIComponent(ruleId)}/endpoints`, body);
    form.reset();
    setType("webhook");
    onCreated(made);
  });
  const submit = (/** @type {Event} */ event) => {
    const values = formValues(event);
    create.run(event.currentTarget, values);
  };
  const err = create.error;
  const id = "new-endpoint";
  return html`<form class="stacked endpoint-form" aria-label="Add an endpoint" onSubmit=${submit} noValidate>
    <h3>Add an endpoint</h3>
    <label>Type
      <select name="type" value=${type} onChange=${(/** @type {any} */ e) => { setType(e.currentTarget.value); create.clear(); }}>
        ${CHANNELS.map((c) => html`<option value=${c.type}>${c.title}</option>`)}
      </select>
    </label>
    <label>${channel.valueLabel}
      <input name="value" type=${channel.inputType} placeholder=${channel.placeholder} required
        autocomplete="off" ...${invalidProps(err, "value", id)} />
    </label>
    <${FieldError} error=${err} field="value" idPrefix=${id} />
    ${channel.credential
      ? html`<label>${channel.credential.label}
            <input name="secret" type="password" autocomplete="off" required ...${invalidProps(err, "secret", id)} />
            <span class="hint">${channel.credential.hint}</span>
          </label>
          <${FieldError} error=${err} field="secret" idPrefix=${id} />`
      : null}
    ${channel.signed
      ? html`<p class="hint">Requests are signed (Standard Webhooks); the signing secret is shown once after you add the endpoint.</p>`
      : null}
    <label class="check"><input type="checkbox" name="send_resolved" defaultChecked /> Send resolved notifications</label>
    ${channel.templates.length
      ? html`<details>
          <summary>Templates (optional)</summary>
          <p class="hint">Sandboxed Jinja2; an empty template keeps the channel's built-in rendering (docs/integrations.md, Templates).</p>
          ${channel.templates.map(
            (t) => html`<label>Template ${t.name} <span class="hint">${t.hint}</span>
                <textarea name=${`template.${t.name}`} ...${invalidProps(err, `templates.${t.name}`, id)}></textarea>
              </label>
              <${FieldError} error=${err} field=${`templates.${t.name}`} idPrefix=${id} />`,
          )}
        </details>`
      : null}
    <details>
      <summary>Delivery rate (optional)</summary>
      <p class="hint">Empty: the channel's default, ${channel.defaultRate}.</p>
      <div class="row">
        <label>Rate per second
          <input name="rate_per_s" type="number" step="any" min="0" inputmode="decimal" ...${invalidProps(err, "rate_per_s", id)} />
        </label>
        <label>Burst
          <input name="rate_burst" type="number" step="1" min="1" inputmode="numeric" ...${invalidProps(err, "rate_burst", id)} />
        </label>
      </div>
      <${FieldError} error=${err} field="rate_per_s" idPrefix=${id} />
      <${FieldError} error=${err} field="rate_burst" idPrefix=${id} />
    </details>
    <div class="actions"><button type="submit" disabled=${create.busy}>Add endpoint</button></div>
    <${ErrorBox} error=${err} />
  </form>`;
}
