"""Output views: what an RPC answers, declared as marshmallow schemas (`View().dump(doc)`).

Every declared field is in the answer, `None` when the record lacks it, so callers see one shape;
fields named in `optional` appear only when the record has them. Dates stored as UTC midnights
(BSON has no date type) come out as ISO dates with `Day`; instants as ISO with offset.
"""

from datetime import datetime

from marshmallow import Schema, fields, post_dump


class View(Schema):
    optional = ()

    @post_dump
    def _every_field(self, data, **kwargs):
        for name, field in self.dump_fields.items():
            key = field.data_key or name
            if key not in data and name not in self.optional:
                data[key] = None
        return data


class Day(fields.Date):
    """A calendar day, stored as a date or as a UTC-midnight datetime."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime):
            value = value.date()
        return super()._serialize(value, attr, obj, **kwargs)


Instant = fields.AwareDateTime
