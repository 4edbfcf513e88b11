// @ts-check
/**
 * Polling that a slow API cannot drown: one call at a time (a tick while the last call
 * is still out is skipped, so answers slower than the interval are still shown and
 * requests do not pile up), nothing while the tab is hidden (and a call as soon as it
 * is shown again), and a call at once when polling starts.
 */
import { useEffect, useRef } from "./html.js";

/**
 * Call fn every `ms` while the component is mounted and the tab visible. `ms` 0 (or
 * less) pauses polling (a finished job has nothing more to show). fn may change on
 * every render: the latest one is called.
 * @param {() => Promise<unknown> | void} fn
 * @param {number} ms
 */
export function usePolling(fn, ms) {
  const busy = useRef(false);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!(ms > 0)) return undefined;
    const tick = () => {
      if (document.hidden || busy.current) return;
      busy.current = true;
      Promise.resolve()
        .then(() => latest.current())
        .catch(() => {}) // the caller shows its own errors; polling goes on
        .finally(() => {
          busy.current = false;
        });
    };
    tick();
    const id = window.setInterval(tick, ms);
    document.addEventListener("visibilitychange", tick);
    return () => {
      window.clearInterval(id);
      document.removeEventListener("visibilitychange", tick);
    };
  }, [ms]);
}
