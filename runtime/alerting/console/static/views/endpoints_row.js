// @ts-check
/**
 * One endpoint in the list, with what an operator does to it: a test send (its outcome
 * stays next to the button; the API allows one per endpoint every 5 s and its 429 is
 * shown, the button waiting out the interval), enable or disable, and the buttons that
 * open the panel's editor, preview and secret rotation, and delete (confirmed).
 * A value that is a credential (a Slack or Teams webhook URL) is masked until its
 * Reveal toggle is pressed, so a screenshot or a look over the shoulder does not leak it.
 */
import { html, useEffect, useState } from "../lib/html.js";
import { ApiError } from "../lib/api.js";
import { Badge, ErrorBox, Time, useAction } from "../lib/ui.js";
import { channelOf, maskedValue, rateText } from "./endpoints_channels.js";

/** The API's test-send interval per endpoint (rule-service test_send_throttle.INTERVAL_S). */
const TEST_INTERVAL_MS = 5000;

/**
 * @typedef {"edit" | "preview"} Mode
 * @param {{
 *   session: import("../lib/session.js").Session,
 *   endpoint: any,
 *   selected: boolean,
 *   onOpen: (mode: Mode) => void,
 *   onRotate: () => void,
 *   onChanged: () => void,
 * }} props
 */
export function EndpointRow({ session, endpoint: e, selected, onOpen, onRotate, onChanged }) {
  const { api } = session;
  const path = `/api/v1/endpoints/${e.endpoint_id}`;
  const toggle = useAction(async () => {
    await api.patch(path, { enabled: !e.enabled });
    onChanged();
  });
  const [revealed, setRevealed] = useState(false);
  const masked = maskedValue(e);
  const remove = useAction(async () => {
    if (!window.confirm(`Delete this ${e.type} endpoint? Its rule stops delivering to ${masked}.`)) return;
    await api.del(path);
    onChanged();
  });
  return html`<tr aria-current=${selected ? "true" : undefined} data-endpoint=${e.endpoint_id}>
    <td class="nowrap" data-label="Type">${channelOf(e.type).title}</td>
    <td data-label="Destination">
      <span class="mono">${revealed ? e.value : masked}</span>
      ${masked !== e.value
        ? html` <button type="button" class="secondary reveal" aria-pressed=${revealed ? "true" : "false"}
            onClick=${() => setRevealed(!revealed)}>Reveal</button>`
        : null}
    </td>
    <td class="nowrap" data-label="State">
      <${Badge} value=${e.enabled ? "enabled" : "disabled"} />
      ${e.disabled_reason
        ? html`<div class="muted">by the platform: ${e.disabled_reason} (<${Time} iso=${e.disabled_at} />)</div>`
        : null}
    </td>
    <td class="nowrap" data-label="Resolved">${e.send_resolved ? "sent" : "not sent"}</td>
    <td class="nowrap" data-label="Rate">${rateText(e)}</td>
    <td data-label="Updated"><${Time} iso=${e.updated_at} /></td>
    <td class="endpoint-actions">
      <div class="actions">
        <${TestSend} session=${session} endpoint=${e} />
        <button type="button" class="secondary" onClick=${() => onOpen("preview")}>Preview</button>
        <button type="button" class="secondary" onClick=${() => onOpen("edit")}>Edit</button>
        <button type="button" class="secondary" disabled=${toggle.busy} onClick=${() => toggle.run()}>
          ${e.enabled ? "Disable" : "Enable"}</button>
        ${channelOf(e.type).signed
          ? html`<button type="button" class="secondary" onClick=${onRotate}>Rotate secret</button>`
          : null}
        <button type="button" class="danger" disabled=${remove.busy} onClick=${() => remove.run()}>Delete</button>
      </div>
      <${ErrorBox} error=${toggle.error || remove.error} />
    </td>
  </tr>`;
}

/** @param {{session: import("../lib/session.js").Session, endpoint: any}} props */
function TestSend({ session, endpoint }) {
  const [result, setResult] = useState(/** @type {any} */ (null));
  const [waiting, setWaiting] = useState(false);
  useEffect(() => {
    if (!waiting) return undefined;
    const id = window.setTimeout(() => setWaiting(false), TEST_INTERVAL_MS);
    return () => window.clearTimeout(id);
  }, [waiting]);
  const send = useAction(async () => {
    setResult(null);
    try {
      setResult(await session.api.post(`/api/v1/endpoints/${endpoint.endpoint_id}/test`, {}));
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) setWaiting(true);
      throw err;
    }
  });
  return html`<span class="test-send">
    <button type="button" disabled=${send.busy || waiting} onClick=${() => send.run()}>
      ${send.busy ? "Sending…" : "Test send"}</button>
    <span role="status" class="test-outcome">
      ${result ? html`<${Badge} value=${result.outcome} /> ${outcomeText(result)}` : null}
    </span>
    ${send.error
      ? html`<${ErrorBox} error=${send.error} />${waiting ? html`<span class="hint">Test send is available again in a few seconds.</span>` : null}`
      : null}
  </span>`;
}

/** @param {{response_code: number | null, error: string | null}} r */
function outcomeText(r) {
  const code = r.response_code == null ? "no response" : `HTTP ${r.response_code}`;
  return r.error ? `${code}: ${r.error}` : code;
}
