// @ts-check
/**
 * The console's only way to the platform: the public REST APIs, with the operator's
 * bearer token in the Authorization header (never in a URL). Which API answers a path is
 * decided here, as the gateway decides it in AWS: /api/v1/alerts and /api/v1/loadgen/*
 * are ingest's, /api/v1/pipeline is the metrics service's, everything else
 * rule-service's. config.json says where ingest and metrics are when they do not share
 * the console's origin (make dev: one port each).
 */

/** @typedef {{field?: string, message: string}} FieldError */

/** An answer that is not 2xx, as the API's problem+json describes it. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} title
   * @param {string} detail
   * @param {FieldError[]} errors
   * @param {Record<string, any>} body
   */
  constructor(status, title, detail, errors, body) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
    this.body = body;
  }
}

/** @typedef {{ingest_url: string, metrics_url: string}} ConsoleConfig */

/** @returns {Promise<ConsoleConfig>} */
export async function loadConfig() {
  const response = await fetch("/ui/config.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return response.json();
}

/**
 * @param {ConsoleConfig} config
 * @param {string} path
 */
export function baseFor(config, path) {
  if (path.startsWith("/api/v1/alerts") || path.startsWith("/api/v1/loadgen/")) {
    return config.ingest_url;
  }
  if (path.startsWith("/api/v1/pipeline")) return config.metrics_url;
  return "";
}

/**
 * A query string from an object; empty and undefined values are left out.
 * @param {Record<string, string | number | boolean | undefined | null>} params
 */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export class Api {
  /**
   * @param {ConsoleConfig} config
   * @param {string} token
   * @param {() => void} onUnauthorized called on a 401 (the token was revoked or is wrong)
   */
  constructor(config, token, onUnauthorized) {
    this.config = config;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  /**
   * @param {string} method
   * @param {string} path absolute API path with its query string
   * @param {unknown} [body] sent as JSON
   * @param {AbortSignal} [signal] aborts the request (a view that no longer wants the answer)
   * @returns {Promise<any>} the parsed JSON answer (null for an empty one)
   */
  async request(method, path, body, signal) {
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    /** @type {RequestInit} */
    const init = { method, headers, cache: "no-store", credentials: "omit", redirect: "error", signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(baseFor(this.config, path) + path, init);
    } catch (err) {
      if (signal?.aborted) throw err; // nobody waits for it: not a network error to show
      throw new ApiError(0, "Network error", `cannot reach the API (${String(err)})`, [], {});
    }
    const text = await response.text();
    /** @type {any} */
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { detail: text.slice(0, 200) };
      }
    }
    if (!response.ok) {
      if (response.status === 401) this.onUnauthorized();
      const p = parsed ?? {};
      throw new ApiError(response.status, p.title ?? "", p.detail ?? "", p.errors ?? [], p);
    }
    return parsed;
  }

  /** @param {string} path @param {{signal?: AbortSignal}} [options] */
  get(path, options = {}) {
    return this.request("GET", path, undefined, options.signal);
  }
  /** @param {string} path @param {unknown} [body] */
  post(path, body) {
    return this.request("POST", path, body);
  }
  /** @param {string} path @param {unknown} body */
  patch(path, body) {
    return this.request("PATCH", path, body);
  }
  /** @param {string} path */
  del(path) {
    return this.request("DELETE", path);
  }
}
