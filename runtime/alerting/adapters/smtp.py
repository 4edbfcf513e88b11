"""A small pool of SMTP connections: one message at a time per connection, reconnect on
failure. Opening a connection (TCP, greeting, STARTTLS, AUTH) costs several round trips;
reusing it makes a message one MAIL/RCPT/DATA exchange."""

from __future__ import annotations

import asyncio
import logging
from email.utils import parseaddr

import aiosmtplib

from alerting.aio import one_line
from alerting.channels.mail_message import MailMessage
from alerting.config import SmtpSettings
from alerting.domain.delivery import Attempt, Outcome, classify_smtp
from alerting.domain.excerpts import smtp_excerpt

log = logging.getLogger(__name__)

# Errors after which the connection is unusable: drop it, the message is retried later.
CONNECTION_ERRORS = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPAuthenticationError,  # our configuration, not the recipient: retry
    aiosmtplib.SMTPHeloError,
    OSError,
)


class SmtpPool:
    def __init__(self, smtp: SmtpSettings, size: int, timeout_s: float) -> None:
        self._smtp = smtp
        # The envelope's address: a display name in ALERTING_SMTP_FROM, ASCII or not,
        # is the From header's alone.
        self._mail_from = parseaddr(smtp.sender)[1] or smtp.sender
        self._timeout_s = timeout_s
        # A slot is an open connection or None (to be opened when used).
        self._slots: asyncio.LifoQueue[aiosmtplib.SMTP | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._slots.put_nowait(None)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._smtp
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=self._timeout_s,
            start_tls=s.starttls,
            username=s.username or None,
            password=s.password or None,
        )
        await client.connect()
        try:
            if client.is_ehlo_or_helo_needed:  # the extensions are read before the first send
                await client.ehlo()
        except BaseException:
            # Not yet in a slot: the caller's clean-up never sees this connection.
            client.close()
            raise
        return client

    async def send(self, message: MailMessage, recipient: str) -> Attempt:
        """Send to one recipient; SMTP 4xx and connection trouble are transient, 5xx final."""
        data = message.as_bytes()  # once, whatever the tries: flattening is not free
        utf8 = not (self._mail_from.isascii() and recipient.isascii())
        client = await self._slots.get()
        try:
            reused = client is not None and client.is_connected
            for _ in range(2):  # a reused connection may have been closed by the server
                try:
                    if client is None or not client.is_connected:
                        client = await self._connect()
                    if utf8 and not client.supports_extension("smtputf8"):
                        return Attempt.permanent(
                            "SMTP: the address is not ASCII and the server offers no SMTPUTF8"
                        )
                    _, reply = await client.sendmail(
                        self._mail_from,
                        [recipient],
                        data,
                        mail_options=["SMTPUTF8"] if utf8 else [],
                    )
                    return Attempt(Outcome.SENT, None, 250, excerpt=smtp_excerpt(250, reply))
                except CONNECTION_ERRORS as exc:
                    await _close(client)
                    client = None
                    if not reused:
                        return Attempt.transient(f"SMTP connection: {one_line(exc)}")
                    reused = False
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients[0]
                    return classify_smtp(refused.code, refused.message)
                except aiosmtplib.SMTPResponseException as exc:
                    return classify_smtp(exc.code, exc.message)
                except aiosmtplib.SMTPException as exc:
                    # No reply behind it: STARTTLS or AUTH the server does not offer.
                    # Our configuration, not the recipient (as a refused AUTH): retry.
                    await _close(client)
                    client = None
                    return Attempt.transient(f"SMTP connection: {one_line(exc)}")
            return Attempt.transient("SMTP connection failed twice")
        except BaseException:
            # Cancelled mid-conversation: the connection's state is unknown.
            await _close(client)
            client = None
            raise
        finally:
            self._slots.put_nowait(client)

    async def close(self) -> None:
        while not self._slots.empty():
            await _close(self._slots.get_nowait(), quit_=True)


async def _close(client: aiosmtplib.SMTP | None, quit_: bool = False) -> None:
    if client is None or not client.is_connected:
        return
    try:
        if quit_:
            await asyncio.wait_for(client.quit(), 2)
        else:
            client.close()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        log.debug("closing SMTP connection: %s", one_line(exc))
        client.close()
