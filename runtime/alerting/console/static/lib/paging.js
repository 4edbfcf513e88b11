// @ts-check
/**
 * Cursor paging for lists: the API pages forwards only (next_cursor), so the cursors of
 * the pages read so far are kept to go back. The pages belong to one filter: when the
 * filter key changes they are forgotten in the same render (no request goes out with
 * the old filter's cursor), and Back/Forward starts again at the first page.
 */
import { html, useEffect, useState } from "./html.js";

/**
 * @typedef {{cursor: string | undefined, depth: number, next: (cursor: string) => void,
 *   previous: () => void}} Paging
 */

/**
 * @param {string} key the filters the pages belong to (JSON of them, say)
 * @returns {Paging}
 */
export function usePaging(key) {
  const [pages, setPages] = useState(/** @type {{key: string, cursors: string[]}} */ ({ key, cursors: [] }));
  const cursors = pages.key === key ? pages.cursors : [];
  useEffect(() => {
    const reset = () => setPages({ key, cursors: [] });
    window.addEventListener("popstate", reset);
    return () => window.removeEventListener("popstate", reset);
  }, [key]);
  return {
    cursor: cursors[cursors.length - 1],
    depth: cursors.length,
    next: (cursor) => setPages({ key, cursors: [...cursors, cursor] }),
    previous: () => setPages({ key, cursors: cursors.slice(0, -1) }),
  };
}

/**
 * "Previous page" (when not on the first) and "Next page" (when the API gave a cursor).
 * @param {{paging: Paging, nextCursor: string | null | undefined}} props
 */
export function Pager({ paging, nextCursor }) {
  if (!paging.depth && !nextCursor) return null;
  return html`<div class="actions paging">
    ${paging.depth
      ? html`<button type="button" class="secondary" onClick=${paging.previous}>Previous page</button>`
      : null}
    ${nextCursor
      ? html`<button type="button" class="more" onClick=${() => paging.next(nextCursor)}>Next page</button>`
      : null}
  </div>`;
}
