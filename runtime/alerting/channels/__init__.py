"""Delivery channels: what an endpoint of each type accepts, how it is de-duplicated,
rendered and delivered. Modelled on Alertmanager's ``notify/<integration>/``.

``base`` holds the ``Channel`` protocol, ``registry`` the channels by type name, and
``builtin/`` one module per channel. Adding a channel is one new module in ``builtin/``
that defines ``CHANNEL`` (plus its tests): the registry finds it there, and the API's
type enum, its value validation, the OpenAPI document and the sender all read the
registry. The schema only checks a type name's format (migration 0003).
"""
