// @ts-check
/**
 * What an endpoint's channel would send for a sample alert, without sending it. The
 * sample's fields are editable; the rendered parts (an email's subject and body, a
 * request body) are shown as text in a <pre>: never as HTML, even an email body, since
 * alert fields are whatever the alert's sender put there.
 */
import { html, useEffect, useRef, useState } from "../lib/html.js";
import { ErrorBox, formValues, useAction } from "../lib/ui.js";
import { maskedValue } from "./endpoints_channels.js";
import { FieldError, invalidProps } from "./endpoints_fields.js";

import { SEVERITIES } from "../lib/severities.js";

/**
 * "key=value" lines as the alert's context (a line without "=" is a key with "").
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseContext(text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    const key = (at < 0 ? line : line.slice(0, at)).trim();
    if (key) out[key] = at < 0 ? "" : line.slice(at + 1).trim();
  }
  return out;
}

/**
 * A rendered part for reading: a JSON body indented, anything else as it is.
 * @param {string} text
 */
function readable(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * @param {{session: import("../lib/session.js").Session, endpoint: any, onClose: () => void}} props
 */
export function EndpointPreview({ session, endpoint, onClose }) {
  const [result, setResult] = useState(/** @type {any} */ (null));
  const preview = useAction(async (/** @type {Record<string, string>} */ values) => {
    const alert = {
      severity: values.severity ?? "HIGH",
      source: values.source ?? "",
      name: values.name ?? "",
      status: values.status ?? "firing",
      context: parseContext(values.context ?? ""),
    };
    setResult(await session.api.post(`/api/v1/endpoints/${endpoint.endpoint_id}/preview`, { alert }));
  });
  const heading = useRef(/** @type {HTMLHeadingElement | null} */ (null));
  useEffect(() => {
    // Opened from a row's button: take focus so a keyboard or screen-reader user is there.
    heading.current?.focus();
    heading.current?.scrollIntoView({ block: "nearest" });
  }, []);
  const err = preview.error;
  const id = `preview-${endpoint.endpoint_id}`;
  return html`<section class="preview" aria-labelledby=${`${id}-h`}>
    <h3 id=${`${id}-h`} tabIndex="-1" ref=${heading}>Preview of ${endpoint.type} to <span class="mono">${maskedValue(endpoint)}</span></h3>
    <form class="stacked" aria-label="Sample alert" noValidate
        onSubmit=${(/** @type {Event} */ e) => { setResult(null); preview.run(formValues(e)); }}>
      <div class="row">
        <label>Severity
          <select name="severity">${SEVERITIES.map((s) => html`<option defaultSelected=${s === "HIGH"}>${s}</option>`)}</select>
        </label>
        <label>Status
          <select name="status"><option>firing</option><option>resolved</option></select>
        </label>
      </div>
      <label>Alert source <input name="source" defaultValue="sample-service" ...${invalidProps(err, "alert.source", id)} /></label>
      <${FieldError} error=${err} field="alert.source" idPrefix=${id} />
      <label>Alert name <input name="name" defaultValue="sample_alert" ...${invalidProps(err, "alert.name", id)} /></label>
      <${FieldError} error=${err} field="alert.name" idPrefix=${id} />
      <label>Context (one key=value per line)
        <textarea name="context" defaultValue="host=sample-host"></textarea>
      </label>
      <div class="actions">
        <button type="submit" disabled=${preview.busy}>Render preview</button>
        <button type="button" class="secondary" onClick=${onClose}>Close preview</button>
      </div>
      <${ErrorBox} error=${err} />
    </form>
    ${result
      ? html`<div class="rendered" aria-live="polite">
          <p class="hint">${result.templated.length
            ? `Rendered with the endpoint's templates: ${result.templated.join(", ")}.`
            : "Rendered with the channel's built-in format."} Nothing was sent.</p>
          ${Object.entries(result.rendered).map(
            ([part, text]) => html`<h4>${part}</h4><pre data-testid=${`rendered-${part}`}>${readable(String(text))}</pre>`,
          )}
        </div>`
      : null}
  </section>`;
}
