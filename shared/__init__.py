"""Sunshine Cloud's kit: what every service uses to store, publish, consume and fail well."""

from shared.amqp import stamp_user_id

stamp_user_id()  # every message published from a process that uses the kit names its sender
