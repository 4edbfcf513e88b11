// @ts-check
/**
 * The one way views build DOM: htm tagged templates over Preact. Interpolated values
 * become text nodes or attribute values, never markup, so an alert field rendered with
 * ${...} cannot inject elements. Nothing in the console uses dangerouslySetInnerHTML.
 */
import { h, render, Fragment } from "../vendor/preact.mjs";
import htm from "../vendor/htm.mjs";

export { render, Fragment };
export {
  useState,
  useEffect,
  useCallback,
  useMemo,
  useRef,
  useReducer,
} from "../vendor/hooks.mjs";

/** @type {(strings: TemplateStringsArray, ...values: any[]) => any} */
export const html = htm.bind(h);
