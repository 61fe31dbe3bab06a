"""Reads every service does alike: a page of a listing, one document or NotFound.

Paged listings have one input shape (`page`, `page_size`) and one answer shape:

    class FindIncidents(Paged(default=20, maximum=200)):   # schemas.py
        status = fields.Str()

    return queries.page(db.incidents, flt, query, sort=[("reported_at", -1)], view=views.dump)
    # {"items": [...], "total": 57, "page": 2, "page_size": 20}
"""

from marshmallow import Schema, fields, validate

from shared.errors import not_found


def Paged(default=50, maximum=500):  # noqa: N802 - a schema class factory, used as a base class
    """A marshmallow base schema with `page` (from 1) and `page_size` (1..maximum)."""
    return type(f"Paged{default}", (Schema,), {
        # strict: a number, not "2" (the gateway converts query strings before they get here)
        "page": fields.Int(strict=True, load_default=1, validate=validate.Range(min=1, max=10**6)),
        "page_size": fields.Int(strict=True, load_default=default,
                                validate=validate.Range(min=1, max=maximum)),
    })


def page(collection, flt, query, sort, view=None, projection=None):
    """One page of `collection.find(flt)` in `sort` order, with the total, items through `view`."""
    size = query["page_size"]
    total = collection.count_documents(flt)
    docs = collection.find(flt, projection, sort=sort, skip=(query["page"] - 1) * size, limit=size)
    items = [view(doc) for doc in docs] if view else list(docs)
    return {"items": items, "total": total, "page": query["page"], "page_size": size}


def load(collection, field, value, what, projection=None, name=None):
    """The one document whose `field` is `value`, or NotFound naming `what` (under `name`, the
    request's field, when it differs from the stored one, e.g. `_id`)."""
    doc = collection.find_one({field: value}, projection)
    if doc is None:
        raise not_found(what, name or field, value)
    return doc
