// @ts-check
/**
 * The match tester: "which rules match this alert, and which silences would mute it".
 * The sample alert lives in the URL (/ui/match?client_id=&severity=&source=&name= and
 * ctx.<key>=value per context entry), so a result can be shared and reload asks again.
 * The answer comes from POST /api/v1/match: the rules (enabled ones) with how each field
 * matched, and the silences that mute the sample now.
 */
import { html, useEffect, useState } from "../lib/html.js";
import { go, href } from "../lib/router.js";
import { Badge, Loaded, Time, useResource } from "../lib/ui.js";
import { ClientPicker } from "../lib/clients.js";
import { SEVERITIES } from "../lib/severities.js";
import { LiveBadge, Pattern } from "./rules_fields.js";

/** @typedef {{key: string, value: string}} ContextRow */
/** @typedef {{client_id: string, severity: string, source: string, name: string, context: ContextRow[]}} Sample */
/** @typedef {import("../lib/types.js").MatchResponse} MatchResponse */

const CTX = "ctx.";

/** @param {URLSearchParams} params @returns {Sample} */
function sampleFrom(params) {
  /** @type {ContextRow[]} */
  const context = [];
  for (const [k, v] of params.entries()) if (k.startsWith(CTX)) context.push({ key: k.slice(CTX.length), value: v });
  return {
    client_id: params.get("client_id") ?? "",
    severity: params.get("severity") ?? "",
    source: params.get("source") ?? "",
    name: params.get("name") ?? "",
    context,
  };
}

/** The URL's query for a sample: every field, context rows with a key as ctx.<key>. */
function paramsOf(/** @type {Sample} */ s) {
  const q = new URLSearchParams();
  for (const k of /** @type {const} */ (["client_id", "severity", "source", "name"])) if (s[k]) q.set(k, s[k]);
  for (const row of s.context) if (row.key) q.append(CTX + row.key, row.value);
  return q;
}

/** @param {import("./index.js").ViewProps} props */
export function MatchView({ session, loc }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const search = loc.params.toString();
  const asked = sampleFrom(loc.params);
  const ready = Boolean(asked.severity && asked.source && asked.name);
  const [draft, setDraft] = useState(asked);
  useEffect(() => setDraft(sampleFrom(new URLSearchParams(search))), [search]);
  // The answer names the query it answers (useResource already shows "loading" for a
  // new search; this keeps a wrong pairing impossible whatever the hook does).
  const [answer] = useResource(async () => {
    if (!ready) return { search, data: null };
    const data = await api.post("/api/v1/match", {
      severity: asked.severity,
      source: asked.source,
      name: asked.name,
      client_id: admin ? asked.client_id || undefined : undefined,
      context: Object.fromEntries(asked.context.map((r) => [r.key, r.value])),
    });
    return { search, data };
  }, [search]);

  // A new test is a new history entry (Back returns to the previous sample); the whole
  // query is replaced, so removed context entries leave the URL too.
  const submit = (/** @type {Event} */ e) => {
    e.preventDefault();
    const q = paramsOf(draft).toString();
    go(q ? `${href("match")}?${q}` : href("match"));
  };
  const set = (/** @type {Partial<Sample>} */ change) => setDraft({ ...draft, ...change });
  const setRow = (/** @type {number} */ i, /** @type {Partial<ContextRow>} */ change) =>
    set({ context: draft.context.map((r, j) => (j === i ? { ...r, ...change } : r)) });
  const value = (/** @type {Event} */ e) => /** @type {HTMLInputElement} */ (e.currentTarget).value;

  return html`<section aria-labelledby="match-h">
    <h1 id="match-h">Match tester</h1>
    <p class="hint">Which enabled rules would match this alert, and which silences would mute it now.</p>
    <form class="stacked panel" aria-label="Sample alert" onSubmit=${submit}>
      <${ClientPicker} session=${session} id="match-client" name="client_id" label="Client"
        value=${draft.client_id} any="All clients" onChange=${(/** @type {string} */ v) => set({ client_id: v })} />
      <div class="field"><label for="match-severity">Severity</label>
        <select id="match-severity" value=${draft.severity} required
          onChange=${(/** @type {Event} */ e) => set({ severity: value(e) })}>
          <option value="" disabled>Choose</option>
          ${SEVERITIES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></div>
      <div class="field"><label for="match-source">Source</label>
        <input id="match-source" value=${draft.source} required maxlength="200"
        onInput=${(/** @type {Event} */ e) => set({ source: value(e) })} /></div>
      <div class="field"><label for="match-name">Name</label>
        <input id="match-name" value=${draft.name} required maxlength="200"
        onInput=${(/** @type {Event} */ e) => set({ name: value(e) })} /></div>
      <fieldset class="context-rows">
        <legend>Context (optional, for silences matching <code>${"context.<key>"}</code>)</legend>
        ${draft.context.map((row, i) => html`<div class="context-row">
          <label for=${`match-ctx-key-${i}`}>Context key ${i + 1}
            <input id=${`match-ctx-key-${i}`} value=${row.key} maxlength="128"
              onInput=${(/** @type {Event} */ e) => setRow(i, { key: value(e) })} /></label>
          <label for=${`match-ctx-value-${i}`}>Context value ${i + 1}
            <input id=${`match-ctx-value-${i}`} value=${row.value} maxlength="1024"
              onInput=${(/** @type {Event} */ e) => setRow(i, { value: value(e) })} /></label>
          <button type="button" class="secondary" aria-label=${`Remove context entry ${i + 1}`}
            onClick=${() => set({ context: draft.context.filter((_, j) => j !== i) })}>Remove</button>
        </div>`)}
        <button type="button" class="secondary" onClick=${() => set({ context: [...draft.context, { key: "", value: "" }] })}>
          Add context entry</button>
      </fieldset>
      <div class="actions"><button type="submit">Test</button></div>
    </form>
    ${ready ? html`<${Results} answer=${answer} search=${search} sample=${asked} clientId=${admin ? asked.client_id : caller.client_id ?? ""} />`
      : html`<p class="state empty">Fill in an alert's severity, source and name to see which rules match it.</p>`}
  </section>`;
}

/**
 * @param {{answer: import("../lib/ui.js").Resource<{search: string, data: MatchResponse | null}>, search: string,
 *   sample: Sample, clientId: string}} props
 */
function Results({ answer, search, sample, clientId }) {
  return html`<${Loaded} resource=${answer}>
    ${(/** @type {{search: string, data: MatchResponse | null}} */ got) => {
      if (got.search !== search || !got.data) return html`<p class="state" role="status">Loading…</p>`;
      const data = got.data;
      // The silence form needs a client; an admin testing all clients gets the only one that matched.
      const owners = [...new Set(data.items.map((m) => m.rule.client_id))];
      const client = clientId || (owners.length === 1 ? String(owners[0]) : "");
      const silenceLink = href("silences", "new", {
        client_id: client, severity: sample.severity, source: sample.source, name: sample.name,
      });
      return html`<section aria-labelledby="match-rules-h">
        <h2 id="match-rules-h">Matching rules (${data.items.length}${data.truncated ? "+" : ""})</h2>
        ${data.truncated ? html`<p class="hint">More rules matched than the answer holds.</p>` : null}
        ${data.items.length
          ? html`<table aria-label="Matching rules">
              <thead><tr>
                <th scope="col">Rule</th><th scope="col">Client</th><th scope="col">Severity</th>
                <th scope="col">Source</th><th scope="col">Name</th><th scope="col">Live</th>
              </tr></thead>
              <tbody>${data.items.map((m) => html`<tr data-rule-id=${m.rule.rule_id}>
                <td><a href=${href("rules", m.rule.rule_id)}>Rule ${m.rule.severity} / ${m.rule.source} / ${m.rule.name}</a></td>
                <td>${m.rule.client_id}</td>
                ${/** @type {const} */ (["severity", "source", "name"]).map((f) => html`<td>
                  <${Pattern} value=${m.rule[f]} /> <span class=${`why why-${m.why[f]}`}>${m.why[f] === "exact" ? "exact match" : "wildcard"}</span>
                </td>`)}
                <td><${LiveBadge} live=${m.rule.live} /></td>
              </tr>`)}</tbody>
            </table>`
          : html`<p class="state empty">No enabled rule matches this alert: it would notify no one.</p>`}
      </section>
      <section aria-labelledby="match-silences-h">
        <h2 id="match-silences-h">Silences that would mute it now (${data.silences.length})</h2>
        ${data.silences.length
          ? html`<table aria-label="Muting silences">
              <thead><tr><th scope="col">Silence</th><th scope="col">Client</th><th scope="col">Comment</th><th scope="col">Ends</th></tr></thead>
              <tbody>${data.silences.map((s) => html`<tr>
                <td><a href=${href("silences", s.silence_id)}>Silence ${s.silence_id.slice(0, 8)}</a></td>
                <td>${s.client_id}</td>
                <td>${s.comment}</td>
                <td>${s.ends_at ? html`<${Time} iso=${s.ends_at} />` : html`<${Badge} value="window" />`}</td>
              </tr>`)}</tbody>
            </table>`
          : html`<p class="state empty">No silence mutes this alert now.</p>`}
        <p><a href=${silenceLink}>Silence alerts like this</a></p>
      </section>`;
    }}
  <//>`;
}
