// @ts-check
/**
 * The form that creates a silence or a maintenance window. It opens prefilled from its
 * URL (/ui/silences/new?client_id=&severity=&source=&name=&alert_id=), so any view that
 * shows an alert can link "silence this": one `=` matcher per given field, the alert id
 * noted in the comment. Times are typed in the browser's zone and the form shows the
 * UTC it will send; a 422 is shown at the field it names (matchers[1].value, ...).
 */
import { html, useMemo, useState } from "../lib/html.js";
import { ClientPicker } from "../lib/clients.js";
import { FieldError, fieldError } from "../lib/fielderror.js";
import { fromLocalInput as utcOf, toLocalInput as localInput } from "../lib/localtime.js";
import { navigate } from "../lib/router.js";
import { ErrorBox, useAction } from "../lib/ui.js";
import { ALERT_FIELDS, DAYS, OPS, browserZone, zones } from "./silences_text.js";

/**
 * @typedef {{key: number, name: string, op: string, value: string}} MatcherRow
 * @typedef {{key: number, days: string[], start: string, end: string}} RangeRow
 */

let nextKey = 1;
/** @param {string} name @param {string} op @param {string} value @returns {MatcherRow} */
const matcherRow = (name = "", op = "=", value = "") => ({ key: nextKey++, name, op, value });
/** @returns {RangeRow} */
const rangeRow = () => ({ key: nextKey++, days: [], start: "02:00", end: "04:00" });

/**
 * The matchers and comment a prefilled URL asks for.
 * @param {URLSearchParams} params
 */
export function prefill(params) {
  const matchers = ALERT_FIELDS.filter((f) => params.get(f)).map((f) => matcherRow(f, "=", params.get(f) ?? ""));
  const alertId = params.get("alert_id");
  return {
    matchers: matchers.length ? matchers : [matcherRow()],
    comment: alertId ? `Silenced from alert ${alertId}` : "",
  };
}

/** @param {{session: import("../lib/session.js").Session, params: URLSearchParams}} props */
export function SilenceForm({ session, params }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const initial = useMemo(() => prefill(params), []);
  const [clientId, setClientId] = useState(admin ? params.get("client_id") ?? "" : caller.client_id ?? "");
  const [matchers, setMatchers] = useState(initial.matchers);
  const [kind, setKind] = useState("range");
  const [starts, setStarts] = useState(() => localInput(new Date()));
  const [ends, setEnds] = useState(() => localInput(new Date(Date.now() + 2 * 3600_000)));
  const [until, setUntil] = useState("");
  const [zone, setZone] = useState(browserZone);
  const [ranges, setRanges] = useState(() => [rangeRow()]);
  const [comment, setComment] = useState(initial.comment);
  const allZones = useMemo(zones, []);

  /** @param {number} key @param {Partial<MatcherRow>} change */
  const setMatcher = (key, change) => setMatchers((ms) => ms.map((m) => (m.key === key ? { ...m, ...change } : m)));
  /** @param {number} key @param {Partial<RangeRow>} change */
  const setRange = (key, change) => setRanges((rs) => rs.map((r) => (r.key === key ? { ...r, ...change } : r)));

  const body = () => ({
    client_id: clientId,
    matchers: matchers.map(({ name, op, value }) => ({ name: name.trim(), op, value })),
    comment,
    ...(kind === "range"
      ? { starts_at: utcOf(starts), ends_at: utcOf(ends) }
      : {
          ...(utcOf(until) ? { ends_at: utcOf(until) } : {}),
          schedule: {
            time_zone: zone,
            // A time input cannot say 24:00; midnight as an end means the end of the day.
            ranges: ranges.map((r) => ({ days: r.days, start: r.start, end: r.end === "00:00" ? "24:00" : r.end })),
          },
        }),
  });
  const create = useAction(async () => {
    const made = await api.post("/api/v1/silences?wait=5", body());
    navigate("silences", made.silence_id);
  });
  const submit = (/** @type {Event} */ event) => {
    event.preventDefault();
    create.run();
  };
  const err = create.error;

  return html`<section aria-labelledby="silence-new-h">
    <h1 id="silence-new-h">New silence</h1>
    <form class="stacked silence-form" aria-label="Create a silence" onSubmit=${submit} novalidate>
      <${ClientPicker} session=${session} id="silence-client" name="client_id" label="Client" value=${clientId}
        required=${true} showFixed=${true} onChange=${setClientId} />
      <${FieldError} id="err-client" message=${fieldError(err, "client_id")} />

      <fieldset>
        <legend>Matchers (all must hold)</legend>
        <${FieldError} id="err-matchers" message=${fieldError(err, "matchers")} />
        ${matchers.map((m, i) => {
          const valueErr = fieldError(err, `matchers[${i}].value`);
          const nameErr = fieldError(err, `matchers[${i}].name`);
          return html`<div class="matcher-row" key=${m.key}>
            <label><span class="sr-only">Matcher ${i + 1} </span>field
              <input list="silence-fields" value=${m.name} required aria-invalid=${nameErr ? "true" : undefined}
                onInput=${(/** @type {any} */ e) => setMatcher(m.key, { name: e.currentTarget.value })} /></label>
            <label><span class="sr-only">Matcher ${i + 1} </span>operator
              <select value=${m.op} onChange=${(/** @type {any} */ e) => setMatcher(m.key, { op: e.currentTarget.value })}>
                ${OPS.map((op) => html`<option value=${op}>${op}</option>`)}
              </select></label>
            <label><span class="sr-only">Matcher ${i + 1} </span>value
              <input value=${m.value} aria-invalid=${valueErr ? "true" : undefined}
                aria-describedby=${valueErr ? `err-m${i}-value` : undefined}
                onInput=${(/** @type {any} */ e) => setMatcher(m.key, { value: e.currentTarget.value })} /></label>
            <button type="button" class="secondary" disabled=${matchers.length < 2}
              onClick=${() => setMatchers((ms) => ms.filter((x) => x.key !== m.key))}>Remove matcher ${i + 1}</button>
            <${FieldError} id=${`err-m${i}-name`} message=${nameErr} />
            <${FieldError} id=${`err-m${i}-value`} message=${valueErr} />
          </div>`;
        })}
        <datalist id="silence-fields">
          ${ALERT_FIELDS.map((f) => html`<option value=${f}></option>`)}<option value="context."></option>
        </datalist>
        <button type="button" class="secondary" onClick=${() => setMatchers((ms) => [...ms, matcherRow()])}>Add matcher</button>
        <p class="hint">Fields: severity, source, name or ${"context.<key>"}. =~ and !~ take an RE2 regex matching the whole value.</p>
      </fieldset>

      <fieldset>
        <legend>When</legend>
        <div class="actions">
          <label class="choice"><input type="radio" name="kind" value="range" checked=${kind === "range"}
            onChange=${() => setKind("range")} /> Time range</label>
          <label class="choice"><input type="radio" name="kind" value="window" checked=${kind === "window"}
            onChange=${() => setKind("window")} /> Maintenance window (weekly)</label>
        </div>
        ${kind === "range"
          ? html`<div class="inline-fields">
              <label>Starts <input type="datetime-local" value=${starts} onInput=${(/** @type {any} */ e) => setStarts(e.currentTarget.value)} /></label>
              <label>Ends <input type="datetime-local" value=${ends} required onInput=${(/** @type {any} */ e) => setEnds(e.currentTarget.value)} /></label>
            </div>
            <${FieldError} id="err-starts" message=${fieldError(err, "starts_at")} />
            <${FieldError} id="err-ends" message=${fieldError(err, "ends_at")} />
            <p class="hint" data-testid="utc-preview">Sent as UTC: ${utcOf(starts) ?? "now"} → ${utcOf(ends) ?? "—"}${" "}
              (your zone: ${browserZone()})</p>`
          : html`<${WindowFields} zone=${zone} setZone=${setZone} allZones=${allZones} ranges=${ranges}
              setRange=${setRange} setRanges=${setRanges} until=${until} setUntil=${setUntil} error=${err} />`}
      </fieldset>

      <label>Comment <textarea name="comment" value=${comment}
        onInput=${(/** @type {any} */ e) => setComment(e.currentTarget.value)}></textarea></label>
      <${FieldError} id="err-comment" message=${fieldError(err, "comment")} />
      <div class="actions">
        <button type="submit" disabled=${create.busy}>Create silence</button>
        <button type="button" class="secondary" onClick=${() => navigate("silences", null, { client_id: clientId })}>Cancel</button>
      </div>
      <${ErrorBox} error=${err} />
    </form>
  </section>`;
}

/**
 * @param {{zone: string, setZone: (z: string) => void, allZones: string[], ranges: RangeRow[],
 *   setRange: (key: number, change: Partial<RangeRow>) => void,
 *   setRanges: (f: (rs: RangeRow[]) => RangeRow[]) => void,
 *   until: string, setUntil: (v: string) => void, error: unknown}} props
 */
function WindowFields({ zone, setZone, allZones, ranges, setRange, setRanges, until, setUntil, error }) {
  return html`<div class="window-fields">
    <label>Time zone
      <select value=${zone} onChange=${(/** @type {any} */ e) => setZone(e.currentTarget.value)}>
        ${allZones.map((z) => html`<option value=${z}>${z}</option>`)}
      </select></label>
    <${FieldError} id="err-zone" message=${fieldError(error, "schedule.time_zone")} />
    <${FieldError} id="err-ranges" message=${fieldError(error, "schedule.ranges")} />
    ${ranges.map((r, i) => html`<fieldset class="range-row" key=${r.key}>
      <legend>Range ${i + 1}</legend>
      <div class="days" role="group" aria-label=${`Range ${i + 1} days`}>
        ${DAYS.map((d) => html`<label class="choice"><input type="checkbox" checked=${r.days.includes(d)}
          onChange=${(/** @type {any} */ e) =>
            setRange(r.key, { days: e.currentTarget.checked ? DAYS.filter((x) => x === d || r.days.includes(x)) : r.days.filter((x) => x !== d) })} />
          <span class="sr-only">Range ${i + 1} </span>${d}</label>`)}
      </div>
      <${FieldError} id=${`err-r${i}-days`} message=${fieldError(error, `schedule.ranges[${i}].days`)} />
      <div class="inline-fields">
        <label><span class="sr-only">Range ${i + 1} </span>from <input type="time" value=${r.start}
          onInput=${(/** @type {any} */ e) => setRange(r.key, { start: e.currentTarget.value })} /></label>
        <label><span class="sr-only">Range ${i + 1} </span>to <input type="time" value=${r.end}
          onInput=${(/** @type {any} */ e) => setRange(r.key, { end: e.currentTarget.value })} /></label>
        <button type="button" class="secondary" disabled=${ranges.length < 2}
          onClick=${() => setRanges((rs) => rs.filter((x) => x.key !== r.key))}>Remove range ${i + 1}</button>
      </div>
      <${FieldError} id=${`err-r${i}-start`} message=${fieldError(error, `schedule.ranges[${i}].start`)} />
      <${FieldError} id=${`err-r${i}-end`} message=${fieldError(error, `schedule.ranges[${i}].end`)} />
    </fieldset>`)}
    <button type="button" class="secondary" onClick=${() => setRanges((rs) => [...rs, rangeRow()])}>Add range</button>
    <p class="hint">Wall-clock times in the zone above; an end at or before the start runs past midnight (00:00 as an end: midnight).</p>
    <label>Until (optional) <input type="datetime-local" value=${until} onInput=${(/** @type {any} */ e) => setUntil(e.currentTarget.value)} /></label>
    <${FieldError} id="err-until" message=${fieldError(error, "ends_at")} />
    ${utcOf(until) ? html`<p class="hint">Sent as UTC: ${utcOf(until)}</p>` : null}
  </div>`;
}
