// @ts-check
/**
 * The API's data as the views read it: JSDoc typedefs mirroring the response models
 * (rule-service's pydantic models, as its OpenAPI publishes them; ingest's JobStatus;
 * the metrics service's pipeline report). Times are RFC 3339 strings, ids strings.
 * Import with `import("../lib/types.js").Rule` and the like; nothing runs here.
 */

/**
 * @template T
 * @typedef {{items: T[], next_cursor: string | null}} Page a cursor-paged list
 */

/** @typedef {{client_id: string, name: string, created_at: string, updated_at: string}} Client */

/**
 * @typedef {{key_id: string, prefix: string, scope: string, client_id: string | null,
 *   description: string, created_at: string, last_used_at: string | null,
 *   revoked_at: string | null, label_mapping: Record<string, unknown> | null}} ApiKey
 * @typedef {ApiKey & {token: string}} ApiKeyCreated the bearer token, shown once
 */

/** @typedef {import("./severities.js").SEVERITIES[number]} Severity */
/** @typedef {import("./severities.js").RULE_SEVERITIES[number]} RuleSeverity */

/**
 * @typedef {{group_by: string[], group_wait_s: number, group_interval_s: number,
 *   repeat_interval_s: number}} GroupingPolicy as stored, the defaults filled in
 * @typedef {{rule_id: string, client_id: string, severity: RuleSeverity, source: string,
 *   name: string, enabled: boolean, version: number, created_at: string,
 *   updated_at: string, live: boolean, grouping: GroupingPolicy | null}} Rule
 */

/**
 * @typedef {{severity: "exact" | "wildcard", source: "exact" | "wildcard", name: "exact" | "wildcard"}} MatchWhy
 * @typedef {{rule: Rule, why: MatchWhy}} RuleMatch
 * @typedef {{silence_id: string, client_id: string, comment: string, ends_at: string | null}} SilenceMatch
 * @typedef {{items: RuleMatch[], truncated: boolean, silences: SilenceMatch[]}} MatchResponse
 */

/**
 * @typedef {{endpoint_id: string, rule_id: string, type: "webhook" | "email" | "slack" | string,
 *   value: string, enabled: boolean, send_resolved: boolean,
 *   templates: Record<string, string> | null, rate_per_s: number | null,
 *   rate_burst: number | null, created_at: string, updated_at: string,
 *   disabled_reason: string | null, disabled_at: string | null}} Endpoint
 */

/**
 * @typedef {{name: string, op: "=" | "!=" | "=~" | "!~" | string, value: string}} Matcher
 * @typedef {{days: string[], start: string, end: string}} WeeklyRange
 * @typedef {{time_zone: string, ranges: WeeklyRange[]}} Schedule
 * @typedef {{silence_id: string, client_id: string, matchers: Matcher[], starts_at: string,
 *   ends_at: string | null, comment: string, schedule: Schedule | null, created_by: string,
 *   version: number, state: "active" | "pending" | "expired", created_at: string,
 *   updated_at: string, expired_at: string | null, live: boolean}} Silence
 */

/**
 * @typedef {"PENDING" | "SENDING" | "RETRY" | "SENT" | "FAILED" | "SUPPRESSED" | "GROUPED"} NotificationStatus
 * @typedef {{notification_id: string, client_id: string, alert_id: string,
 *   kind: "firing" | "resolved", episode: number, firing_id: string | null,
 *   silence_id: string | null, severity: string, source: string, name: string,
 *   context: Record<string, string>, event_ts: string, rule_ids: string[],
 *   status: NotificationStatus, attempts: number, next_attempt_at: string | null,
 *   last_error: string | null, created_at: string, updated_at: string,
 *   sent_at: string | null}} Notification
 * @typedef {{endpoint_id: string, endpoint_type: string, status: string, attempts: number,
 *   last_error: string | null, response_code: number | null, created_at: string,
 *   updated_at: string, group_id: string | null, digest_id: string | null}} Delivery one
 *   endpoint's delivery of a notification; group_id and digest_id when it went in a digest
 * @typedef {{notification_id: string, kind: "firing" | "resolved", status: NotificationStatus,
 *   created_at: string, sent_at: string | null}} EpisodeRow
 * @typedef {Notification & {deliveries: Delivery[], episode_rows: EpisodeRow[]}} NotificationDetail
 * @typedef {{endpoint_id: string, endpoint_type: string, attempt: number, started_at: string,
 *   duration_ms: number, outcome: "SENT" | "RETRY" | "FAILED", response_code: number | null,
 *   error: string | null, response_excerpt: string | null, digest_id: string | null}} Attempt
 *   one call of one endpoint; digest_id when the call was a digest carrying it
 */

/**
 * @typedef {{group_id: string, client_id: string, rule_id: string, endpoint_id: string,
 *   endpoint_type: string | null, kind: "firing" | "resolved", labels: Record<string, string>,
 *   state: "open" | "closed", opened_at: string, due_at: string | null,
 *   last_flushed_at: string | null, closed_at: string | null, flushes: number,
 *   pending: number, members: number, digests: number}} Group a group of grouped notifications
 * @typedef {{digest_id: string, seq: number, repeat: boolean, members: number,
 *   status: "SENDING" | "RETRY" | "SENT" | "FAILED", attempts: number,
 *   last_error: string | null, response_code: number | null, created_at: string,
 *   sent_at: string | null}} Digest one message that carried members of a group
 * @typedef {Group & {latest_digests: Digest[]}} GroupDetail
 * @typedef {{notification_id: string, alert_id: string, kind: "firing" | "resolved",
 *   episode: number, severity: string, source: string, name: string,
 *   status: string}} DigestMember status: the member's delivery to the group's endpoint
 * @typedef {Digest & {group_id: string, notifications: DigestMember[]}} DigestDetail
 */

/**
 * @typedef {{job_id: string, state: "running" | "completed" | "cancelled" | "failed",
 *   rate: number, count: number | null, duration_s: number | null, batch_size: number,
 *   seed: number, tag: string, sent: number, failed: number, started_at: string,
 *   finished_at: string | null, elapsed_s: number, actual_rate: number,
 *   error: string | null}} Job ingest's load-generator job (JobStatus)
 */

/**
 * @typedef {{stage: string, topic: string, group: string | null, produced_per_s?: number | null,
 *   consumed_per_s?: number | null, lag?: number | null, dlq_total?: number | null}} PipelineStage
 * @typedef {{up: boolean, error?: string | null, consumed_total?: number | null,
 *   processed_total?: number | null, dead_lettered_total?: number | null}} PipelineService
 * @typedef {{generated_at: string, sample_age_s?: number, sample_interval_s: number,
 *   rate_window_s: number | null, stages: PipelineStage[],
 *   notifications: Record<string, number> | null, deliveries: Record<string, number> | null,
 *   rules: {total: number, enabled: number} | null, clients: number | null,
 *   services: Record<string, PipelineService>, errors: string[]}} PipelineReport
 */

export {};
