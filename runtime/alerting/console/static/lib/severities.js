// @ts-check
/** The API's severity values, in one place (AlertSeverity and RuleSeverity). */

/** An alert's severity (AlertSeverity), lowest first. */
export const SEVERITIES = /** @type {const} */ (["LOW", "MEDIUM", "HIGH", "CRITICAL"]);
/** A rule's severity: an alert severity, or "*" for any (RuleSeverity). */
export const RULE_SEVERITIES = /** @type {const} */ ([...SEVERITIES, "*"]);
