// @ts-check
/**
 * The load generator (admin only): start a job inside ingest (POST /api/v1/loadgen/jobs:
 * rate, count or duration, weighted severities/sources/names, seed), the list of jobs,
 * and a job's page /ui/loadgen/<id> with its progress, refreshed while it runs, and
 * Cancel. Ingest keeps jobs in memory only (the last 100 finished): a restarted ingest
 * has none, and the job page then says so (404).
 */
import { html, useState } from "../lib/html.js";
import { usePolling } from "../lib/poll.js";
import { href, navigate } from "../lib/router.js";
import { SEVERITIES } from "../lib/severities.js";
import { Badge, ErrorBox, Loaded, Time, formValues, useAction, useResource } from "../lib/ui.js";

/** @typedef {import("../lib/types.js").Job} Job */

const JOBS = "/api/v1/loadgen/jobs";

/** @param {number | null | undefined} n */
const num = (n) => (n === null || n === undefined ? "—" : n.toLocaleString());

/** @param {import("./index.js").ViewProps} props */
export function LoadgenView({ session, loc }) {
  const { api } = session;
  const [jobs, , refresh] = useResource((signal) => api.get(JOBS, { signal }), []);
  usePolling(refresh, 2000);
  return html`<section aria-labelledby="loadgen-h">
    <h1 id="loadgen-h">Load generator</h1>
    ${loc.id
      ? html`<p><a href=${href("loadgen")}>← New job</a></p><${JobPanel} session=${session} jobId=${loc.id} />`
      : html`<${StartForm} session=${session} />`}
    <h2 id="jobs-h">Jobs</h2>
    <${Loaded} resource=${jobs} empty="No load-generator jobs yet." isEmpty=${(/** @type {{items: Job[]}} */ d) => !d.items.length}>
      ${(/** @type {{items: Job[]}} */ page) => html`<table aria-labelledby="jobs-h" class="labelled">
        <thead><tr>
          <th scope="col">Job</th><th scope="col">State</th><th scope="col">Sent</th>
          <th scope="col">Rate (target / actual)</th><th scope="col">Started</th>
        </tr></thead>
        <tbody>
          ${page.items.map(
            (j) => html`<tr aria-current=${j.job_id === loc.id ? "true" : undefined}>
              <td><a href=${href("loadgen", j.job_id)}><code>${j.job_id.slice(0, 8)}</code></a></td>
              <td><${Badge} value=${j.state} /></td>
              <td data-label="Sent">${num(j.sent)}${j.count ? html` of ${num(j.count)}` : html` in ${num(j.duration_s)} s`}</td>
              <td data-label="Rate">${num(j.rate)} / ${num(j.actual_rate)} per s</td>
              <td data-label="Started"><${Time} iso=${j.started_at} /></td>
            </tr>`,
          )}
        </tbody>
      </table>`}
    <//>
  </section>`;
}

/**
 * The job request from the form's values: numbers as numbers, weights as
 * {value: weight} maps (rows without a value are ignored), absent fields left out so
 * the API's defaults apply.
 * @param {Record<string, string>} values
 */
export function jobRequest(values) {
  /** @type {Record<string, any>} */
  const body = { rate: Number(values.rate) };
  if (values.count) body.count = Number(values.count);
  if (values.duration_s) body.duration_s = Number(values.duration_s);
  if (values.seed) body.seed = Number(values.seed);
  for (const kind of ["severities", "sources", "names"]) {
    /** @type {Record<string, number>} */
    const weights = {};
    for (const [key, value] of Object.entries(values)) {
      const m = key.match(new RegExp(`^${kind}-value-(\\d+)$`));
      if (m && value.trim()) weights[value.trim()] = Number(values[`${kind}-weight-${m[1]}`] ?? 1);
    }
    if (Object.keys(weights).length) body[kind] = weights;
  }
  return body;
}

/** @param {{session: import("../lib/session.js").Session}} props */
function StartForm({ session }) {
  const start = useAction(async (/** @type {Record<string, string>} */ values) => {
    const made = await session.api.post(JOBS, jobRequest(values));
    navigate("loadgen", made.job_id);
  });
  return html`<form class="stacked panel" aria-label="Start a load job" onSubmit=${(/** @type {Event} */ e) => start.run(formValues(e))}>
    <h2>Start a job</h2>
    <p class="hint">Alerts are generated inside ingest and produced straight to Kafka, paced to the rate.</p>
    <div class="loadgen-row">
      <label>Rate (alerts/s) <input name="rate" type="number" min="0.001" max="50000" step="any" required defaultValue="200" /></label>
      <label>Count <input name="count" type="number" min="1" max="10000000" step="1" /></label>
      <label>Duration (s) <input name="duration_s" type="number" min="0.001" max="86400" step="any" /></label>
      <label>Seed <input name="seed" type="number" min="0" step="1" /></label>
    </div>
    <p class="hint">Give a count or a duration (not both). No seed: a random one. No weights below: the default spread.</p>
    <${Weights} kind="severities" noun="Severity" options=${[...SEVERITIES]} />
    <${Weights} kind="sources" noun="Source" />
    <${Weights} kind="names" noun="Name" />
    <div class="actions"><button type="submit" disabled=${start.busy}>Start job</button></div>
    <${ErrorBox} error=${start.error} />
  </form>`;
}

/**
 * Rows of value + weight for one distribution. Inputs are left uncontrolled and keyed by
 * a row id that is never reused, so removing a middle row keeps what the others hold.
 * @param {{kind: string, noun: string, options?: string[]}} props
 */
function Weights({ kind, noun, options }) {
  const [rows, setRows] = useState(/** @type {number[]} */ ([]));
  const [next, setNext] = useState(1);
  const add = () => {
    setRows([...rows, next]);
    setNext(next + 1);
  };
  const lower = noun.toLowerCase();
  return html`<fieldset class="weights">
    <legend>${noun} weights</legend>
    ${rows.length ? null : html`<p class="hint">Default ${lower} spread.</p>`}
    ${rows.map(
      (id, i) => html`<div class="weight-row" key=${id}>
        <div class="weight-value">
          <label for=${`lg-${kind}-${id}`}>${noun} #${i + 1}</label>
          ${options
            ? html`<select id=${`lg-${kind}-${id}`} name=${`${kind}-value-${id}`}>
                ${options.map((o) => html`<option>${o}</option>`)}</select>`
            : html`<input id=${`lg-${kind}-${id}`} name=${`${kind}-value-${id}`} required />`}
        </div>
        <label>Weight of ${lower} #${i + 1}
          <input name=${`${kind}-weight-${id}`} type="number" min="0" step="any" defaultValue="1" required />
        </label>
        <button type="button" class="secondary" aria-label=${`Remove ${lower} #${i + 1}`}
          onClick=${() => setRows(rows.filter((r) => r !== id))}>Remove</button>
      </div>`,
    )}
    <button type="button" class="secondary" onClick=${add}>Add ${lower}</button>
  </fieldset>`;
}

/** @param {{session: import("../lib/session.js").Session, jobId: string}} props */
function JobPanel({ session, jobId }) {
  const { api } = session;
  const path = `${JOBS}/${encodeURIComponent(jobId)}`;
  const [job, reload, refresh] = useResource(
    (signal) => /** @type {Promise<Job>} */ (api.get(path, { signal })),
    [jobId],
  );
  const running = job.status === "ready" && job.data.state === "running";
  usePolling(refresh, running ? 1000 : 0); // a finished job does not change
  const cancel = useAction(async () => {
    await api.del(path);
    reload();
  });
  return html`<section class="panel" aria-labelledby="job-h">
    <h2 id="job-h">Job <code>${jobId}</code></h2>
    <${Loaded} resource=${job}>
      ${(/** @type {Job} */ j) => {
        const total = j.count ?? j.duration_s;
        const done = j.count ? j.sent : j.elapsed_s;
        const pct = total ? Math.min(100, (100 * done) / total) : 0;
        return html`<p>
            <span data-testid="job-state"><${Badge} value=${j.state} /></span>
            ${j.error ? html` <span class="error-text">${j.error}</span>` : null}
          </p>
          <label class="progress">Progress
            <progress max=${total ?? 1} value=${done}>${pct.toFixed(1)} %</progress>
          </label>
          <dl class="facts">
            <dt>Sent</dt><dd data-testid="job-sent">${num(j.sent)}${j.count ? ` of ${num(j.count)}` : ""} (${pct.toFixed(1)} %)</dd>
            <dt>Failed</dt><dd>${num(j.failed)}</dd>
            <dt>Rate</dt><dd>${num(j.actual_rate)} per s (target ${num(j.rate)})</dd>
            <dt>Elapsed</dt><dd>${num(j.elapsed_s)} s${j.duration_s ? ` of ${num(j.duration_s)} s` : ""}</dd>
            <dt>Started</dt><dd><${Time} iso=${j.started_at} /></dd>
            <dt>Finished</dt><dd><${Time} iso=${j.finished_at} /></dd>
            <dt>Seed / tag</dt><dd><code>${j.seed}</code> / <code>${j.tag}</code></dd>
            <dt>Batch size</dt><dd>${num(j.batch_size)}</dd>
          </dl>
          ${j.state === "running"
            ? html`<div class="actions">
                <button type="button" class="danger" disabled=${cancel.busy} onClick=${() => cancel.run()}>Cancel job</button>
              </div>`
            : null}
          <${ErrorBox} error=${cancel.error} />`;
      }}
    <//>
  </section>`;
}
