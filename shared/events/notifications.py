"""Events of the notifications service."""

from marshmallow import Schema, fields

from shared.events.catalogue import event


@event("notifications.in_person_delivery_requested", 1)
class InPersonDeliveryRequested(Schema):
    """No channel reached a resident (an elderly person with no phone): a grid worker should call."""

    resident_id = fields.Str(required=True)
    grid_code = fields.Str(allow_none=True, load_default=None)
    topic = fields.Str(required=True)
    message = fields.Str(required=True)
    source_event_id = fields.Str(required=True)
