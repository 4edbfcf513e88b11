// @ts-check
/**
 * A small SVG line chart of our own (no charting library: the CSP allows no external
 * code, and a few lines over a shared time axis is all the pipeline view needs).
 *
 * Series share one time axis (`times`, epoch ms); a series value may be null (unknown in
 * that sample: the line breaks there rather than drawing a made-up zero). Colours come
 * from classes in console.css, never inline styles. For screen readers the SVG has a
 * <title>/<desc> and a visually hidden table holds every series' latest value.
 * `data-points` (the number of samples, and per series the known values) lets tests see
 * that the chart grows.
 */
import { html } from "./html.js";

/** @typedef {{name: string, values: (number | null)[]}} Series */

const W = 480;
const H = 200;
const M = { left: 44, right: 10, top: 10, bottom: 24 };
const COLOURS = 8; // .chart-c0 .. .chart-c7 in console.css

/**
 * A round upper bound for the y axis (1, 2, 5 times a power of ten), at least 1.
 * @param {number} max
 */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/**
 * Short numbers for axis labels and the table: 950, 1.2k, 3.4M.
 * @param {number | null | undefined} value
 */
export function compact(value) {
  if (value === null || value === undefined) return "—";
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${+(value / 1e3).toFixed(0)}k`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(abs < 10 ? 2 : 1)}`;
}

/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/**
 * The SVG path of one series; a null value ends a segment (the next known one starts
 * a new one with M).
 * @param {number[]} xs
 * @param {(number | null)[]} values
 * @param {(v: number) => number} y
 */
function pathOf(xs, values, y) {
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${xs[i].toFixed(1)} ${y(v).toFixed(1)} `;
    pen = true;
  });
  return d.trim();
}

/** @param {(number | null)[]} values */
function latest(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i];
  return null;
}

/**
 * @param {{id: string, title: string, desc: string, unit?: string, times: number[], series: Series[]}} props
 */
export function LineChart({ id, title, desc, unit = "", times, series }) {
  const known = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const top = niceMax(Math.max(0, .../** @type {number[]} */ (known)));
  const t0 = times.length ? times[0] : 0;
  const t1 = times.length ? times[times.length - 1] : 0;
  const span = Math.max(1, t1 - t0);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const xs = times.map((t) => M.left + (times.length > 1 ? ((t - t0) / span) * plotW : plotW));
  const y = (/** @type {number} */ v) => M.top + plotH - (v / top) * plotH;
  const ticks = [0, top / 2, top];
  return html`<figure class="chart-box" data-chart=${id} data-points=${times.length}>
    <figcaption>${title}${unit ? html` <span class="muted">(${unit})</span>` : null}</figcaption>
    <svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby=${`${id}-t ${id}-d`}>
      <title id=${`${id}-t`}>${title}</title>
      <desc id=${`${id}-d`}>${desc}</desc>
      ${ticks.map(
        (v) => html`<g class="chart-tick">
          <line x1=${M.left} x2=${W - M.right} y1=${y(v)} y2=${y(v)} />
          <text x=${M.left - 6} y=${y(v) + 4} text-anchor="end">${compact(v)}</text>
        </g>`,
      )}
      ${times.length
        ? html`<text class="chart-axis" x=${M.left} y=${H - 6}>${clock(t0)}</text>
            <text class="chart-axis" x=${W - M.right} y=${H - 6} text-anchor="end">${clock(t1)}</text>`
        : null}
      ${series.map(
        (s, i) => html`<path class=${`chart-line chart-c${i % COLOURS}`} d=${pathOf(xs, s.values, y)}
          data-series=${s.name} data-points=${s.values.filter((v) => v !== null && v !== undefined).length} />`,
      )}
      ${series.map((s, i) => {
        const last = s.values.length - 1;
        const v = s.values[last];
        return v === null || v === undefined
          ? null
          : html`<circle class=${`chart-dot chart-c${i % COLOURS}`} cx=${xs[last]} cy=${y(v)} r="3" />`;
      })}
    </svg>
    <ul class="legend" aria-hidden="true">
      ${series.map(
        (s, i) => html`<li><span class=${`swatch chart-c${i % COLOURS}`}></span>${s.name}
          <span class="muted">${compact(latest(s.values))}</span></li>`,
      )}
    </ul>
    <table class="sr-only">
      <caption>${title}: latest values</caption>
      <thead><tr><th scope="col">Series</th><th scope="col">Latest${unit ? ` (${unit})` : ""}</th></tr></thead>
      <tbody>
        ${series.map((s) => html`<tr><th scope="row">${s.name}</th><td>${compact(latest(s.values))}</td></tr>`)}
      </tbody>
    </table>
  </figure>`;
}
