// @ts-check
/**
 * Where the operator is lives in the URL: /ui/<view>[/<id>]?<filters>. A link can be
 * shared or bookmarked, reload keeps the view, Back works. Views read the location with
 * useLocation() and change it with navigate() or setParams() (filters).
 */
import { useEffect, useState } from "./html.js";

export const PREFIX = "/ui";

/** @typedef {{view: string, id: string | null, params: URLSearchParams}} Location */

/** @returns {Location} */
export function current() {
  const rest = window.location.pathname.slice(PREFIX.length).replace(/^\/+/, "");
  const [view = "", id = null] = rest.split("/").map(decodeURIComponent);
  return { view, id: id || null, params: new URLSearchParams(window.location.search) };
}

/**
 * @param {string} view
 * @param {string | null} [id]
 * @param {Record<string, string | undefined | null>} [params]
 */
export function href(view, id = null, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const path = `${PREFIX}/${encodeURIComponent(view)}${id ? `/${encodeURIComponent(id)}` : ""}`;
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

const listeners = new Set();

/** @param {string} url @param {boolean} [replace] */
export function go(url, replace = false) {
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  for (const l of listeners) l();
}

/**
 * @param {string} view
 * @param {string | null} [id]
 * @param {Record<string, string | undefined | null>} [params]
 */
export function navigate(view, id = null, params = {}) {
  go(href(view, id, params));
}

/**
 * Change the current view's filters (replacing the history entry: typing in a filter
 * box should not fill Back with every keystroke).
 * @param {Record<string, string | undefined | null>} changes
 */
export function setParams(changes) {
  const loc = current();
  /** @type {Record<string, string>} */
  const params = Object.fromEntries(loc.params.entries());
  for (const [k, v] of Object.entries(changes)) {
    if (v) params[k] = v;
    else delete params[k];
  }
  go(href(loc.view, loc.id, params), true);
}

/** @returns {Location} */
export function useLocation() {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return loc;
}

/**
 * Internal links: a plain click navigates in the app; modified clicks (new tab) and
 * keyboard activation keep the browser's behaviour.
 * @param {MouseEvent} event
 */
export function onLinkClick(event) {
  const target = /** @type {HTMLElement} */ (event.target).closest("a");
  if (!target || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = target.getAttribute("href");
  if (!url || !url.startsWith(`${PREFIX}/`) || target.target) return;
  event.preventDefault();
  go(url);
}
