"""Slack incoming webhooks: ``text`` for the notification popup, blocks for the channel.

Alert fields are caller-supplied, so they are escaped for Slack's mrkdwn (an ``<`` could
otherwise form a link or a mention).
"""

from __future__ import annotations

import json

from alerting.channels.base import Channel, Outbound
from alerting.channels.http_url import USER_AGENT, HttpRequest, UrlChannel, post
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification, shown

HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}


def _escape(text: str) -> str:
    """mrkdwn escapes, and no line breaks or bidi overrides (``shown``)."""
    return shown(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(n: OutgoingNotification) -> bytes:
    title = _escape(n.title)
    fields = [f"*alert_id:* {_escape(n.alert_id)}", f"*event_ts:* <!date^{n.event_ts}"
              f"^{{date_short_pretty}} {{time_secs}}|{n.event_ts}>"]  # fmt: skip
    fields += [f"*{_escape(k)}:* {_escape(v)}" for k, v in sorted(n.context.items())]
    payload = {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": n.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(fields)[:3000]}},
        ],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


class SlackChannel(UrlChannel):
    name = "slack"

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> HttpRequest:
        # A fresh dict per request: the HTTP client may add to the headers it is given.
        return HttpRequest(target.value, body(n), dict(HEADERS))

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        return await post(outbound, self.render(n, target, outbound, outbound.wall_clock()))


CHANNEL: Channel[HttpRequest] = SlackChannel()
