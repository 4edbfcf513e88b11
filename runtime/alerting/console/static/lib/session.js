// @ts-check
/**
 * Signing in: the token is checked with GET /api/v1/whoami and kept in sessionStorage
 * (this tab only, gone when it closes; never a cookie, so no request is ever
 * authenticated without the console's own code adding the header, and CSRF cannot
 * apply). Signing out forgets it.
 */
import { Api } from "./api.js";

const KEY = "alerting.console.token";

/** @typedef {{kind: "admin" | "client", client_id: string | null, key_prefix: string | null}} Caller */
/** @typedef {{api: Api, caller: Caller}} Session */

export function storedToken() {
  return sessionStorage.getItem(KEY);
}

/**
 * @param {import("./api.js").ConsoleConfig} config
 * @param {string} token
 * @param {() => void} onUnauthorized
 * @returns {Promise<Session>}
 */
export async function signIn(config, token, onUnauthorized) {
  const api = new Api(config, token.trim(), onUnauthorized);
  const caller = await api.get("/api/v1/whoami");
  sessionStorage.setItem(KEY, token.trim());
  return { api, caller };
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** @param {Caller} caller */
export function describeCaller(caller) {
  return caller.kind === "admin"
    ? "admin"
    : `client ${caller.client_id} (key ${caller.key_prefix})`;
}
