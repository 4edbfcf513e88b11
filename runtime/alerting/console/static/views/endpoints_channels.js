// @ts-check
/**
 * What the console needs to know about each delivery channel to ask for an endpoint:
 * the label and example of its value, whether it takes a credential, which templates it
 * accepts and its default delivery rate. It mirrors alerting/channels (each channel's
 * module) and alerting/templates/catalog.py; the API stays the judge (its 422 is shown
 * on the field), so a drift here costs a worse hint, never a wrong endpoint.
 */

/**
 * @typedef {{
 *   type: string,
 *   title: string,
 *   valueLabel: string,
 *   placeholder: string,
 *   inputType: "url" | "email",
 *   credential: {label: string, hint: string} | null,
 *   signed: boolean,
 *   templates: {name: string, hint: string}[],
 *   defaultRate: string,
 *   secretValue: boolean,
 * }} ChannelInfo
 */

const SENDER_RATE = "the sender's ALERTING_SENDER_RATE_* setting (no documented receiver limit)";

/*
 * secretValue: the endpoint's value is itself a credential (whoever has a Slack or Teams
 * webhook URL can post to the channel), so the console masks it until Reveal is pressed.
 * An email address and PagerDuty's public Events API URL (its key is the separate,
 * never-returned routing key) are shown as they are; so is a generic webhook's URL, the
 * operator's own receiver, whose requests are signed (the signing secret is the
 * credential there).
 */

/** @type {ChannelInfo[]} */
export const CHANNELS = [
  {
    type: "webhook",
    title: "Webhook",
    valueLabel: "Webhook URL",
    placeholder: "https://receiver.example.com/alerts",
    inputType: "url",
    credential: null,
    signed: true,
    templates: [{ name: "body", hint: "JSON document sent (and signed) instead of the built-in body" }],
    defaultRate: SENDER_RATE,
    secretValue: false,
  },
  {
    type: "slack",
    title: "Slack",
    valueLabel: "Slack incoming-webhook URL",
    placeholder: "https://hooks.slack.com/services/T000/B000/XXXX",
    inputType: "url",
    credential: null,
    signed: false,
    templates: [{ name: "text", hint: "the main section's mrkdwn text (escape alert values)" }],
    defaultRate: "1 per second, bursts of 3 (Slack's documented limit)",
    secretValue: true,
  },
  {
    type: "email",
    title: "Email",
    valueLabel: "Email address",
    placeholder: "oncall@example.com",
    inputType: "email",
    credential: null,
    signed: false,
    templates: [
      { name: "subject", hint: "one line" },
      { name: "body", hint: "plain text body" },
    ],
    defaultRate: SENDER_RATE,
    secretValue: false,
  },
  {
    type: "pagerduty",
    title: "PagerDuty",
    valueLabel: "PagerDuty Events API URL",
    placeholder: "https://events.pagerduty.com/v2/enqueue",
    inputType: "url",
    credential: {
      label: "Routing key",
      hint: "the 32 letters or digits of an Events API v2 integration's key; stored sealed, never shown again",
    },
    signed: false,
    templates: [],
    defaultRate: "2 per second, bursts of 5 (PagerDuty's 120 events a minute per key)",
    secretValue: false,
  },
  {
    type: "teams",
    title: "Microsoft Teams",
    valueLabel: "Teams workflow webhook URL",
    placeholder: "https://prod-00.westeurope.logic.azure.com/workflows/…",
    inputType: "url",
    credential: null,
    signed: false,
    templates: [],
    defaultRate: "1 per second, bursts of 4",
    secretValue: true,
  },
];

/**
 * The channel of an endpoint type; an unknown type (a channel added to the platform
 * after this file) still gets a plain URL field, its value masked in case it is a
 * credential.
 * @param {string} type
 * @returns {ChannelInfo}
 */
export function channelOf(type) {
  return (
    CHANNELS.find((c) => c.type === type) ?? {
      type,
      title: type,
      valueLabel: "Destination",
      placeholder: "",
      inputType: "url",
      credential: null,
      signed: false,
      templates: [],
      defaultRate: "the channel's default",
      secretValue: true,
    }
  );
}

/**
 * A rate override as shown in the list.
 * @param {{rate_per_s?: number | null, rate_burst?: number | null}} e
 */
export function rateText(e) {
  if (e.rate_per_s == null && e.rate_burst == null) return "default";
  const per = e.rate_per_s == null ? "default rate" : `${e.rate_per_s}/s`;
  const burst = e.rate_burst == null ? "" : `, burst ${e.rate_burst}`;
  return `${per}${burst}`;
}

/**
 * An endpoint's value as shown by default: a credential URL keeps its scheme, host and
 * last 4 characters (enough to tell two apart: scheme://host/…abcd), the rest hidden;
 * any other value as it is.
 * @param {{type: string, value: string}} e
 */
export function maskedValue(e) {
  if (!channelOf(e.type).secretValue) return e.value;
  const tail = e.value.slice(-4);
  try {
    const url = new URL(e.value);
    const rest = e.value.slice(e.value.indexOf(url.host) + url.host.length);
    if (rest === "" || rest === "/") return `${url.protocol}//${url.host}/`;
    return `${url.protocol}//${url.host}/…${rest.length > 8 ? tail : ""}`;
  } catch {
    return `…${e.value.length > 8 ? tail : ""}`;
  }
}
