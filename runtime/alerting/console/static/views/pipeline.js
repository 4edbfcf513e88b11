// @ts-check
/**
 * The pipeline overview (admin only): GET /api/v1/pipeline of the metrics service,
 * polled every 2 s while the view is shown and the tab visible, the last 5 minutes kept
 * in memory (nowhere else: a reload starts a fresh history) and drawn as charts, with
 * the services' up/down table. The metrics service samples every few seconds, so a
 * poll that returns the same sample (same generated_at) refreshes its age instead of
 * adding a point. 503 before its first sample is a wait, not an error; any failed poll
 * is shown and the polling goes on.
 */
import { html, useCallback, useState } from "../lib/html.js";
import { ApiError } from "../lib/api.js";
import { LineChart, compact } from "../lib/chart.js";
import { usePolling } from "../lib/poll.js";
import { Badge, ErrorBox, Time } from "../lib/ui.js";

/** @typedef {import("../lib/types.js").PipelineReport} PipelineReport */

export const POLL_MS = 2000;
export const KEEP_MS = 5 * 60 * 1000;

/** @typedef {{t: number, body: PipelineReport}} Sample */
/** @typedef {(body: PipelineReport) => Array<[string, number | null | undefined]>} Pick */

/**
 * Add a sample to the history: the same sample again replaces the last one (its age
 * changed), older than KEEP_MS before the newest is dropped.
 * @param {Sample[]} history
 * @param {PipelineReport} body
 * @returns {Sample[]}
 */
export function remember(history, body) {
  const parsed = Date.parse(body.generated_at);
  const t = Number.isNaN(parsed) ? Date.now() : parsed;
  const last = history[history.length - 1];
  const kept = last && last.t === t ? history.slice(0, -1) : history;
  return [...kept, { t, body }].filter((s) => s.t >= t - KEEP_MS);
}

/**
 * Series of one chart from the history: names in first-seen order, one value per
 * sample (null where a sample did not have it).
 * @param {Sample[]} history
 * @param {Pick} pick
 * @returns {import("../lib/chart.js").Series[]}
 */
export function seriesOf(history, pick) {
  /** @type {Map<string, (number | null)[]>} */
  const byName = new Map();
  history.forEach((sample, i) => {
    for (const [name, value] of pick(sample.body)) {
      if (!byName.has(name)) byName.set(name, new Array(history.length).fill(null));
      /** @type {(number | null)[]} */ (byName.get(name))[i] = value ?? null;
    }
  });
  return [...byName].map(([name, values]) => ({ name, values }));
}

/** @param {PipelineReport} body */
const consumers = (body) => (body.stages ?? []).filter((s) => s.group);

/** @type {Array<{id: string, title: string, unit: string, desc: string, pick: Pick}>} */
const CHARTS = [
  {
    id: "throughput",
    title: "Throughput per stage",
    unit: "messages/s",
    desc: "Messages per second each stage writes (ingest) or consumes (the others), averaged over the rate window.",
    pick: (b) =>
      (b.stages ?? []).map((s) => [s.stage, s.group ? s.consumed_per_s : s.produced_per_s]),
  },
  {
    id: "lag",
    title: "Consumer lag",
    unit: "messages",
    desc: "Messages produced to a topic but not yet committed by its consumer group.",
    pick: (b) => consumers(b).map((s) => [`${s.group} / ${s.topic}`, s.lag]),
  },
  {
    id: "dlq",
    title: "Dead-letter queues",
    unit: "messages",
    desc: "Messages in each stage's dead-letter topic.",
    pick: (b) => consumers(b).map((s) => [`${s.topic}.dlq`, s.dlq_total]),
  },
  {
    id: "notifications",
    title: "Notification states",
    unit: "notifications",
    desc: "Notifications by status.",
    pick: (b) => Object.entries(b.notifications ?? {}).map(([k, v]) => [k, v]),
  },
];

/** @param {import("./index.js").ViewProps} props */
export function PipelineView({ session }) {
  const { api } = session;
  const [history, setHistory] = useState(/** @type {Sample[]} */ ([]));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const poll = useCallback(async () => {
    try {
      const body = /** @type {PipelineReport} */ (await api.get("/api/v1/pipeline"));
      setHistory((h) => remember(h, body));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [api]);
  usePolling(poll, POLL_MS);

  const waiting = error instanceof ApiError && error.status === 503;
  const newest = history.length ? history[history.length - 1].body : null;
  const times = history.map((s) => s.t);
  return html`<section aria-labelledby="pipeline-h">
    <h1 id="pipeline-h">Pipeline</h1>
    ${waiting
      ? html`<p class="state" role="status">Waiting for the metrics service's first sample…</p>`
      : error
        ? html`<${ErrorBox} error=${error} /><p class="hint">Still polling every ${POLL_MS / 1000} s.</p>`
        : null}
    ${!newest && !error ? html`<p class="state" role="status">Loading…</p>` : null}
    ${newest
      ? html`<${Freshness} body=${newest} samples=${history.length} />
          ${newest.errors?.length
            ? html`<div class="error" role="alert"><strong>Sources failing</strong>
                <ul>${newest.errors.map((e) => html`<li>${e}</li>`)}</ul></div>`
            : null}
          <div class="charts pipeline-charts">
            ${CHARTS.map(
              (c) => html`<${LineChart} id=${c.id} title=${c.title} unit=${c.unit} desc=${c.desc}
                times=${times} series=${seriesOf(history, c.pick)} />`,
            )}
          </div>
          <${Services} services=${newest.services ?? {}} />`
      : null}
  </section>`;
}

/** @param {{body: PipelineReport, samples: number}} props */
function Freshness({ body, samples }) {
  return html`<p class="pipeline-meta" data-testid="sample-age">
    Sample taken <${Time} iso=${body.generated_at} />, <strong>${body.sample_age_s ?? "?"} s</strong> old
    · rates over ${body.rate_window_s ?? "—"} s · ${samples} sample${samples === 1 ? "" : "s"} in the last 5 minutes
    ${body.rules ? html` · rules ${compact(body.rules.enabled)} enabled of ${compact(body.rules.total)}` : null}
    ${body.clients !== undefined && body.clients !== null ? html` · ${body.clients} clients` : null}
  </p>`;
}

/** @param {{services: Record<string, import("../lib/types.js").PipelineService>}} props */
function Services({ services }) {
  const names = Object.keys(services).sort();
  if (!names.length) return html`<p class="state empty">No services are watched.</p>`;
  return html`<h2 id="services-h">Services</h2>
    <table aria-labelledby="services-h" class="services labelled">
      <thead><tr>
        <th scope="col">Service</th><th scope="col">State</th><th scope="col">Consumed</th>
        <th scope="col">Processed</th><th scope="col">Dead-lettered</th><th scope="col">Reason</th>
      </tr></thead>
      <tbody>
        ${names.map((name) => {
          const s = services[name];
          return html`<tr data-service=${name}>
            <th scope="row">${name}</th>
            <td><${Badge} value=${s.up ? "up" : "down"} /></td>
            <td data-label="Consumed">${compact(s.consumed_total)}</td>
            <td data-label="Processed">${compact(s.processed_total)}</td>
            <td data-label="Dead-lettered">${compact(s.dead_lettered_total)}</td>
            <td data-label=${s.up ? undefined : "Reason"}>${s.up ? "" : s.error ?? "not answering"}</td>
          </tr>`;
        })}
      </tbody>
    </table>`;
}
