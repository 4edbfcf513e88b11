// @ts-check
/**
 * Building blocks every view uses, so each has the same empty, loading and error
 * states, the same time display and the same form error handling.
 */
import { html, useCallback, useEffect, useRef, useState } from "./html.js";
import { ApiError } from "./api.js";

/**
 * @template T
 * @typedef {{status: "loading"} | {status: "error", error: Error} | {status: "ready", data: T}} Resource
 */

/**
 * Load something when the deps change, with three rules learnt the hard way:
 * - new deps show "loading" at once (in the same render), never the old deps' data
 *   under the new labels; the old request is aborted (its answer is not wanted);
 * - reload() (after a change the operator made) never discards the answer in flight:
 *   it waits for it and then loads once more, so the newest state is shown;
 * - refresh() (polling) joins the request in flight instead of starting another, so
 *   a slow API gets one request at a time and every answer is shown (usePolling).
 * load gets an AbortSignal to pass to api.get.
 * @template T
 * @param {(signal: AbortSignal) => Promise<T>} load
 * @param {unknown[]} deps
 * @returns {[Resource<T>, () => void, () => Promise<void>]}
 */
export function useResource(load, deps) {
  const key = JSON.stringify(deps);
  const [state, setState] = useState(
    /** @type {{key: string | null, resource: Resource<T>}} */ ({ key: null, resource: { status: "loading" } }),
  );
  const loadRef = useRef(load);
  loadRef.current = load;
  /** @type {import("preact").RefObject<{controller: AbortController, again: boolean, done: Promise<void>} | null>} */
  const running = useRef(null);

  const start = useCallback(
    /** @param {string} forKey @returns {Promise<void>} */
    (forKey) => {
      const controller = new AbortController();
      const { signal } = controller;
      /** @type {{controller: AbortController, again: boolean, done: Promise<void>}} */
      const run = { controller, again: false, done: Promise.resolve() };
      running.current = run;
      run.done = loadRef.current(signal).then(
        (data) => {
          if (!signal.aborted) setState({ key: forKey, resource: { status: "ready", data } });
        },
        (error) => {
          if (!signal.aborted) setState({ key: forKey, resource: { status: "error", error } });
        },
      ).then(() => {
        if (running.current !== run) return;
        running.current = null;
        if (run.again && !signal.aborted) return start(forKey);
      });
      return run.done;
    },
    [],
  );
  const keyRef = useRef(key);
  keyRef.current = key;
  useEffect(() => {
    start(key);
    return () => {
      running.current?.controller.abort();
      running.current = null;
    };
  }, [key]);
  const reload = useCallback(() => {
    if (running.current) running.current.again = true;
    else start(keyRef.current);
  }, [start]);
  const refresh = useCallback(
    () => (running.current ? running.current.done : start(keyRef.current)),
    [start],
  );
  const resource = state.key === key ? state.resource : /** @type {Resource<T>} */ ({ status: "loading" });
  return [resource, reload, refresh];
}

/**
 * Call fn every `ms` while the component is shown (charts, progress).
 * @param {() => void} fn
 * @param {number} ms
 */
export function useInterval(fn, ms) {
  useEffect(() => {
    const id = window.setInterval(fn, ms);
    return () => window.clearInterval(id);
  }, [fn, ms]);
}

/**
 * Render a resource: a spinner line, the error, the empty text, or children(data).
 * @template T
 * @param {{resource: Resource<T>, empty?: string, isEmpty?: (d: T) => boolean, children: (d: T) => any}} props
 */
export function Loaded({ resource, empty = "Nothing here yet.", isEmpty, children }) {
  if (resource.status === "loading") return html`<p class="state" role="status">Loading…</p>`;
  if (resource.status === "error") return html`<${ErrorBox} error=${resource.error} />`;
  if (isEmpty && isEmpty(resource.data)) return html`<p class="state empty">${empty}</p>`;
  return children(resource.data);
}

/** @param {{error: unknown}} props */
export function ErrorBox({ error }) {
  if (!error) return null;
  const e = /** @type {any} */ (error);
  const fields = e instanceof ApiError ? e.errors : [];
  const status = e instanceof ApiError && e.status ? `${e.status} ` : "";
  return html`<div class="error" role="alert">
    <strong>${status}${e instanceof ApiError ? e.title || "Error" : "Error"}</strong>
    ${e.message ? html`: ${e.message}` : null}
    ${fields.length
      ? html`<ul>${fields.map((f) => html`<li><code>${f.field ?? ""}</code> ${f.message}</li>`)}</ul>`
      : null}
  </div>`;
}

/**
 * A timestamp in the browser's zone, UTC on hover (title) and for machines (datetime).
 * @param {{iso: string | null | undefined}} props
 */
export function Time({ iso }) {
  if (!iso) return html`<span class="muted">—</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`<span>${iso}</span>`;
  return html`<time datetime=${d.toISOString()} title=${`${d.toISOString().replace("T", " ").slice(0, 19)} UTC`}>
    ${d.toLocaleString()}</time>`;
}

/**
 * @typedef {{run: (...args: any[]) => Promise<boolean>, busy: boolean, error: unknown, clear: () => void}} Action
 */

/**
 * Run an async action from a button or form: disables while it runs, keeps its error;
 * run() resolves true when the action succeeded.
 * @param {(...args: any[]) => Promise<unknown>} action
 * @returns {Action}
 */
export function useAction(action) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const run = async (/** @type {any[]} */ ...args) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, clear: () => setError(null) };
}

/**
 * A form's submit handler: the action gets the form's values and the form is cleared
 * once it succeeded (kept as typed when it failed, next to the error).
 * @param {Action} action
 * @returns {(event: Event) => Promise<void>}
 */
export function submitWith(action) {
  return async (event) => {
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    if (await action.run(formValues(event))) form.reset();
  };
}

/**
 * The values of a submitted form's named fields (empty strings left out).
 * @param {SubmitEvent | Event} event
 * @returns {Record<string, string>}
 */
export function formValues(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  /** @type {Record<string, string>} */
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    if (typeof v === "string" && v !== "") out[k] = v;
  }
  return out;
}

/**
 * A secret shown once (a new API key's token, a signing secret): selectable text and a
 * copy button; it is not kept anywhere after the panel closes.
 * @param {{label: string, value: string, onClose: () => void}} props
 */
export function SecretOnce({ label, value, onClose }) {
  const copy = () => navigator.clipboard?.writeText(value);
  return html`<div class="secret" role="status">
    <p><strong>${label}</strong> — shown this once; copy it now.</p>
    <code class="secret-value" data-testid="secret-value">${value}</code>
    <div class="actions">
      <button type="button" onClick=${copy}>Copy</button>
      <button type="button" onClick=${onClose}>Done</button>
    </div>
  </div>`;
}

/**
 * A status word as a badge (SENT, FAILED, SUPPRESSED, enabled...).
 * @param {{value: string}} props
 */
export function Badge({ value }) {
  return html`<span class=${`badge badge-${String(value).toLowerCase()}`}>${value}</span>`;
}
