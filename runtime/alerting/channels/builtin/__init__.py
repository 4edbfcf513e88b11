"""The built-in channels, one module each, every one defining ``CHANNEL``.

Every module here is a channel: ``alerting.channels.registry`` imports them all and
registers their ``CHANNEL``, so nothing else lists them.
"""
