// @ts-check
/**
 * Rules: the list (filters client and enabled live in the URL, cursor paging) and the
 * create form; /ui/rules/<id> is one rule's page (rules_page.js). A rule is created with
 * ?wait=5 so the answer says whether the evaluators already match with it.
 */
import { html, useEffect, useState } from "../lib/html.js";
import { query } from "../lib/api.js";
import { ClientPicker } from "../lib/clients.js";
import { Pager, usePaging } from "../lib/paging.js";
import { href, setParams } from "../lib/router.js";
import { RULE_SEVERITIES } from "../lib/severities.js";
import { Badge, ErrorBox, Loaded, Time, formValues, useAction, useResource } from "../lib/ui.js";
import { LiveBadge, Pattern } from "./rules_fields.js";
import { GroupingSummary } from "./rules_grouping.js";

/** @typedef {import("../lib/types.js").Rule} Rule */
import { RulePage } from "./rules_page.js";

/** @param {import("./index.js").ViewProps} props */
export function RulesView({ session, loc }) {
  // Keyed by id: moving to another rule starts its page (and its endpoints) afresh.
  if (loc.id) return html`<${RulePage} key=${loc.id} session=${session} id=${loc.id} />`;
  return html`<${RulesList} session=${session} loc=${loc} />`;
}

/** @param {import("./index.js").ViewProps} props */
function RulesList({ session, loc }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const clientId = loc.params.get("client_id") ?? "";
  const enabled = loc.params.get("enabled") ?? "";
  const paging = usePaging(JSON.stringify([clientId, enabled]));
  const { cursor } = paging;
  const [rules, reload] = useResource(
    (signal) => api.get(`/api/v1/rules${query({ client_id: clientId, enabled, cursor, limit: 50 })}`, { signal }),
    [clientId, enabled, cursor],
  );
  return html`<section aria-labelledby="rules-h">
    <h1 id="rules-h">Rules</h1>
    <form class="filters" aria-label="Filter rules" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <${ClientPicker} session=${session} id="rules-filter-client" name="client_id" label="Show client"
        value=${clientId} any="All clients" onChange=${(/** @type {string} */ v) => setParams({ client_id: v })} />
      <div class="field"><label for="rules-filter-enabled">Show state</label>
        <select id="rules-filter-enabled" value=${enabled}
          onChange=${(/** @type {Event} */ e) => setParams({ enabled: /** @type {HTMLSelectElement} */ (e.currentTarget).value })}>
          <option value="">Enabled and disabled</option>
          <option value="true">Enabled only</option>
          <option value="false">Disabled only</option>
        </select>
      </div>
    </form>
    <${CreateRule} session=${session} clientId=${admin ? clientId : caller.client_id ?? ""}
      onCreated=${reload} />
    <${Loaded} resource=${rules} empty=${clientId || enabled ? "No rule matches these filters." : "No rules yet."}
      isEmpty=${(/** @type {import("../lib/types.js").Page<Rule>} */ d) => !d.items.length && !cursor}>
      ${(/** @type {import("../lib/types.js").Page<Rule>} */ page) => html`<table aria-label="Rules">
          <thead><tr>
            ${admin ? html`<th scope="col">Client</th>` : null}
            <th scope="col">Severity</th><th scope="col">Source</th><th scope="col">Name</th>
            <th scope="col">Grouping</th><th scope="col">Enabled</th><th scope="col">Live</th><th scope="col">Version</th>
            <th scope="col">Updated</th><th scope="col"><span class="sr-only">Open</span></th>
          </tr></thead>
          <tbody>
            ${page.items.map((r) => html`<tr data-rule-id=${r.rule_id}>
              ${admin ? html`<td>${r.client_id}</td>` : null}
              <td><${Pattern} value=${r.severity} /></td>
              <td><${Pattern} value=${r.source} /></td>
              <td><${Pattern} value=${r.name} /></td>
              <td><${GroupingSummary} grouping=${r.grouping} /></td>
              <td><${Badge} value=${r.enabled ? "enabled" : "disabled"} /></td>
              <td><${LiveBadge} live=${r.live} /></td>
              <td>${r.version}</td>
              <td><${Time} iso=${r.updated_at} /></td>
              <td><a href=${href("rules", r.rule_id)} aria-label=${`Open rule ${r.severity} ${r.source} ${r.name}`}>Open</a></td>
            </tr>`)}
          </tbody>
        </table>
        <${Pager} paging=${paging} nextCursor=${page.next_cursor} />`}
    <//>
  </section>`;
}

/**
 * @param {{session: import("../lib/session.js").Session, clientId: string, onCreated: () => void}} props
 */
function CreateRule({ session, clientId, onCreated }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const [chosen, setChosen] = useState(clientId);
  useEffect(() => setChosen(clientId), [clientId]); // the filter prefills the form
  const [made, setMade] = useState(/** @type {Rule | null} */ (null));
  const create = useAction(async (/** @type {Record<string, string>} */ v, /** @type {HTMLFormElement} */ form) => {
    setMade(null);
    const rule = await api.post("/api/v1/rules?wait=5", {
      client_id: admin ? v.client_id : caller.client_id,
      severity: v.severity,
      source: v.source,
      name: v.name,
      enabled: v.enabled === "on",
    });
    setMade(rule);
    form.reset();
    onCreated();
  });
  const submit = (/** @type {Event} */ e) => create.run(formValues(e), e.currentTarget);
  return html`<form class="inline panel" aria-label="Create a rule" onSubmit=${submit}>
    <h2 class="form-title">New rule</h2>
    <${ClientPicker} session=${session} id="rule-new-client" name="client_id" label="Client"
      value=${chosen} required=${true} onChange=${setChosen} />
    <div class="field"><label for="rule-new-severity">Severity</label>
      <select id="rule-new-severity" name="severity" required>
        ${RULE_SEVERITIES.map((s) => html`<option value=${s}>${s === "*" ? "* (any)" : s}</option>`)}
      </select>
    </div>
    <div class="field"><label for="rule-new-source">Source</label>
      <input id="rule-new-source" name="source" required maxlength="200"
      aria-describedby="rule-wildcard-hint" /></div>
    <div class="field"><label for="rule-new-name">Name</label>
      <input id="rule-new-name" name="name" required maxlength="200"
      aria-describedby="rule-wildcard-hint" /></div>
    <label for="rule-new-enabled" class="check"><input id="rule-new-enabled" name="enabled" type="checkbox" checked />
      Enabled</label>
    <button type="submit" disabled=${create.busy}>${create.busy ? "Creating…" : "Create rule"}</button>
    <p class="hint wide" id="rule-wildcard-hint">
      Source and name match an alert's field exactly; <code>*</code> alone matches any value
      (no partial patterns). Severity, source and name cannot all be <code>*</code>.
    </p>
    <${ErrorBox} error=${create.error} />
    ${made
      ? html`<p class="notice wide" role="status">
          Rule <a href=${href("rules", made.rule_id)}>${made.severity} / ${made.source} / ${made.name}</a>${" "}
          created for ${made.client_id} (version ${made.version}): <${LiveBadge} live=${made.live} />
          ${made.live ? null : html` <span class="hint">saved; the evaluators had not loaded it within 5 s.</span>`}
        </p>`
      : null}
  </form>`;
}
