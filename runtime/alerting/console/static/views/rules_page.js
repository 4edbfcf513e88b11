// @ts-check
/**
 * One rule (/ui/rules/<id>): its state, the edit form carrying the version it was read
 * at, enable/disable, delete, and its endpoints (EndpointsPanel, views/endpoints.js).
 *
 * Why the version matters: two operators editing the same rule must not silently
 * overwrite each other. The API refuses a PATCH whose version is stale (409 with
 * current_version); we then read the rule again and let the operator decide with both
 * versions side by side (rules_conflict.js) instead of retrying blindly.
 */
import { html, useEffect, useRef, useState } from "../lib/html.js";
import { ApiError } from "../lib/api.js";
import { href, navigate } from "../lib/router.js";
import { Badge, ErrorBox, Time, useAction } from "../lib/ui.js";
import { EndpointsPanel } from "./endpoints.js";
import { Conflict, onTop } from "./rules_conflict.js";
import { LiveBadge, RULE_SEVERITIES } from "./rules_fields.js";
import { GroupingEditor } from "./rules_grouping.js";

/** @typedef {{rule_id: string, client_id: string, severity: string, source: string, name: string,
 *   enabled: boolean, version: number, created_at: string, updated_at: string, live: boolean,
 *   grouping: import("../lib/types.js").GroupingPolicy | null}} Rule */
/** @typedef {{severity: string, source: string, name: string}} Draft */

/** @param {Rule} rule @returns {Draft} */
const draftOf = (rule) => ({ severity: rule.severity, source: rule.source, name: rule.name });

const FIELDS = /** @type {(keyof Draft)[]} */ (["severity", "source", "name"]);

/** Seconds a change waits for the evaluators (?wait=) before answering "not live yet". */
const WAIT_S = 5;
/** How often a rule that is not live yet is looked at again. */
const LIVE_POLL_MS = 2000;

/** @param {{session: import("../lib/session.js").Session, id: string}} props */
export function RulePage({ session, id }) {
  const { api } = session;
  const path = `/api/v1/rules/${encodeURIComponent(id)}`;
  const [rule, setRule] = useState(/** @type {Rule | null} */ (null));
  const [loadError, setLoadError] = useState(/** @type {unknown} */ (null));
  const [draft, setDraft] = useState(/** @type {Draft | null} */ (null));
  // A stale save: the values the edit started from, what the operator typed, and the
  // rule as it is now.
  const [conflict, setConflict] = useState(/** @type {{base: Draft, mine: Draft, current: Rule} | null} */ (null));
  const [saved, setSaved] = useState(/** @type {string | null} */ (null));

  // The rule this page shows now. The component is not keyed by id (Back/Forward from one
  // rule to another reuses it), so every answer is checked against it before it is
  // taken: an answer about the rule shown before must never replace this one.
  const shown = useRef(id);
  shown.current = id;
  /** @param {Rule} r */
  const ours = (r) => r.rule_id === shown.current;

  /** @param {Rule} r */
  const adopt = (r) => {
    if (!ours(r)) return;
    setRule(r);
    setDraft(draftOf(r));
  };
  useEffect(() => {
    // Live until the next load (another id) starts: a slow answer for the rule shown
    // before lands after the new one and is dropped.
    let live = true;
    setRule(null);
    setDraft(null);
    setLoadError(null);
    setConflict(null);
    setSaved(null);
    api.get(path).then(
      (/** @type {Rule} */ r) => live && adopt(r),
      (/** @type {unknown} */ err) => live && setLoadError(err),
    );
    return () => {
      live = false;
    };
  }, [path]);

  // Until the evaluators hold this version, look again. Only the live flag is taken, and
  // only onto the rule as it is when the answer lands and only if that is still the
  // version asked about: a poll in flight while the operator saves answers with the old
  // version, and taking it would put the old rule back (the next Save then fails with a
  // 409 against the operator's own change); taking a newer version here would defeat
  // the stale-edit check.
  useEffect(() => {
    if (!rule || rule.live) return undefined;
    let live = true;
    const timer = window.setInterval(async () => {
      const now = /** @type {Rule | null} */ (await api.get(path).catch(() => null));
      if (!live || !now || !now.live) return;
      setRule((r) => (r && r.rule_id === now.rule_id && r.version === now.version ? { ...r, live: true } : r));
    }, LIVE_POLL_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [rule]);

  /** PATCH with the given version; a 409 carrying current_version is a stale edit. */
  const patch = async (/** @type {number} */ version, /** @type {Record<string, unknown>} */ changes) => {
    try {
      return /** @type {Rule} */ (await api.patch(`${path}?wait=${WAIT_S}`, { version, ...changes }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && typeof err.body.current_version === "number") {
        const current = /** @type {Rule} */ (await api.get(path));
        return { stale: current, error: err };
      }
      throw err;
    }
  };

  const save = useAction(async (/** @type {number} */ version, /** @type {Draft} */ mine, /** @type {Draft} */ base) => {
    setSaved(null);
    const answer = await patch(version, mine);
    if (!ours("stale" in answer ? answer.stale : answer)) return; // the page moved to another rule
    if ("stale" in answer) {
      setConflict({ base, mine, current: answer.stale });
      return;
    }
    setConflict(null);
    adopt(answer);
    setSaved(`Saved as version ${answer.version}.`);
  });
  const toggle = useAction(async () => {
    if (!rule) return;
    setSaved(null);
    const answer = await patch(rule.version, { enabled: !rule.enabled });
    if (!ours("stale" in answer ? answer.stale : answer)) return;
    if ("stale" in answer) {
      // Someone changed the rule: show it as it is now before acting. Edits typed but not
      // saved yet go through the conflict panel; otherwise the page simply takes theirs.
      const typed = draft && FIELDS.some((f) => draft[f] !== rule[f]);
      if (typed) setConflict({ base: draftOf(rule), mine: draft, current: answer.stale });
      else adopt(answer.stale);
      throw new Error(
        `someone changed this rule since you opened it; it is now at version ${answer.stale.version}` +
          ` and ${answer.stale.enabled ? "enabled" : "disabled"}. Nothing was changed by you.`,
      );
    }
    setRule(answer);
    setSaved(answer.enabled ? "Enabled." : "Disabled.");
  });
  /** The grouping editor's save: its own PATCH, so unsaved pattern edits stay typed. */
  const saveGrouping = async (/** @type {Record<string, unknown> | null} */ grouping) => {
    if (!rule) return;
    const answer = await patch(rule.version, { grouping });
    if (!ours("stale" in answer ? answer.stale : answer)) return;
    if ("stale" in answer) {
      setRule(answer.stale);
      throw new Error(
        `someone changed this rule since you opened it; it is now at version ${answer.stale.version}` +
          " and shows its grouping as it is now. Nothing was changed by you.",
      );
    }
    setRule(answer);
  };
  const remove = useAction(async () => {
    if (!rule) return;
    if (!window.confirm(`Delete the rule ${rule.severity} / ${rule.source} / ${rule.name} and its endpoints?`)) return;
    await api.del(path);
    navigate("rules", null, { client_id: rule.client_id });
  });

  if (loadError) {
    return html`<section><h1>Rule</h1><${ErrorBox} error=${loadError} />
      <p><a href=${href("rules")}>Back to the rules</a></p></section>`;
  }
  if (!rule || !draft) return html`<p class="state" role="status">Loading…</p>`;

  const submit = (/** @type {Event} */ e) => {
    e.preventDefault();
    save.run(rule.version, draft, draftOf(rule));
  };
  const field = (/** @type {keyof Draft} */ k) => (/** @type {Event} */ e) =>
    setDraft({ ...draft, [k]: /** @type {HTMLInputElement} */ (e.currentTarget).value });
  return html`<section aria-labelledby="rule-h">
    <p class="crumbs"><a href=${href("rules", null, { client_id: rule.client_id })}>Rules of ${rule.client_id}</a></p>
    <h1 id="rule-h">Rule ${rule.severity} / ${rule.source} / ${rule.name}</h1>
    <dl class="facts" aria-label="Rule state">
      <dt>State</dt><dd><${Badge} value=${rule.enabled ? "enabled" : "disabled"} /> <${LiveBadge} live=${rule.live} /></dd>
      <dt>Version</dt><dd data-testid="rule-version">${rule.version}</dd>
      <dt>Client</dt><dd>${rule.client_id}</dd>
      <dt>Updated</dt><dd><${Time} iso=${rule.updated_at} /></dd>
      <dt>Created</dt><dd><${Time} iso=${rule.created_at} /></dd>
    </dl>
    <div class="actions">
      <button type="button" class="secondary" disabled=${toggle.busy} onClick=${() => toggle.run()}>
        ${rule.enabled ? "Disable" : "Enable"}</button>
      <button type="button" class="danger" disabled=${remove.busy} onClick=${() => remove.run()}>Delete rule</button>
    </div>
    <${ErrorBox} error=${toggle.error || remove.error} />
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    ${conflict
      ? html`<${Conflict} base=${conflict.base} mine=${conflict.mine} current=${conflict.current} busy=${save.busy}
          onUseCurrent=${() => {
            adopt(conflict.current);
            setConflict(null);
            save.clear();
          }}
          onApplyMine=${() => {
            const current = draftOf(conflict.current);
            save.run(conflict.current.version, onTop(conflict.base, conflict.mine, current), current);
          }} />`
      : null}
    <form class="stacked panel" aria-label="Edit rule" onSubmit=${submit}>
      <h2 class="form-title">Edit (version ${rule.version})</h2>
      <div class="field"><label for="rule-edit-severity">Severity</label>
        <select id="rule-edit-severity" value=${draft.severity} onChange=${field("severity")}>
          ${RULE_SEVERITIES.map((s) => html`<option value=${s}>${s === "*" ? "* (any)" : s}</option>`)}
        </select></div>
      <div class="field"><label for="rule-edit-source">Source</label>
        <input id="rule-edit-source" value=${draft.source} required maxlength="200"
        onInput=${field("source")} aria-describedby="rule-edit-hint" /></div>
      <div class="field"><label for="rule-edit-name">Name</label>
        <input id="rule-edit-name" value=${draft.name} required maxlength="200"
        onInput=${field("name")} aria-describedby="rule-edit-hint" /></div>
      <p class="hint" id="rule-edit-hint"><code>*</code> alone matches any value; anything else matches exactly.</p>
      <div class="actions">
        <button type="submit" disabled=${save.busy || Boolean(conflict)}>Save</button>
        <button type="button" class="secondary" onClick=${() => setDraft(draftOf(rule))}>Reset</button>
      </div>
      <${ErrorBox} error=${save.error} />
    </form>
    <${GroupingEditor} grouping=${rule.grouping} version=${rule.version} save=${saveGrouping} />
    <${EndpointsPanel} session=${session} ruleId=${id} />
  </section>`;
}
