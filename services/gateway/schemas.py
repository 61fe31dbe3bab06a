"""What the gateway reads (its own requests: login, accounts, query strings) and the shapes it
documents as answers. Request bodies of forwarded routes are the services' own input schemas
(see routes.py): the service validates them; the gateway only documents them."""

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from services.gateway import domain

MAX_PAGE_SIZE = 100  # the hard maximum of every list the gateway serves


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Open(Schema):
    """An answer: the fields listed are promised; others may follow."""

    class Meta:
        unknown = INCLUDE


# ---------------------------------------------------------------- accounts


class Login(Strict):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class CreateAccount(Strict):
    username = fields.Str(required=True, validate=validate.Regexp(domain.USERNAME))
    password = fields.Str(required=True, validate=validate.Length(min=domain.MIN_PASSWORD, max=200))
    role = fields.Str(required=True, validate=validate.OneOf(domain.ROLES))
    name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=100))
    grid = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    resident_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    vendor_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    staff_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))


class ChangePassword(Strict):
    password = fields.Str(required=True, validate=validate.Length(min=domain.MIN_PASSWORD, max=200))


class AccountQuery(Strict):
    role = fields.Str(load_default=None, validate=validate.OneOf(domain.ROLES))
    grid = fields.Str(load_default=None, validate=validate.Length(min=1, max=40))


class Account(Open):
    username = fields.Str(required=True)
    role = fields.Str(required=True)
    grid = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)
    person_id = fields.Str(allow_none=True)
    resident_id = fields.Str(allow_none=True)
    vendor_id = fields.Str(allow_none=True)
    staff_id = fields.Str(allow_none=True)
    active = fields.Bool()
    created_at = fields.Str(allow_none=True)


class Session(Open):
    token = fields.Str(required=True)
    token_type = fields.Str(required=True)
    expires_at = fields.Str(required=True)
    account = fields.Nested(Account, required=True)


class Me(Open):
    account = fields.Str(required=True)
    id = fields.Str(required=True)
    role = fields.Str(required=True)
    grid = fields.Str(allow_none=True)


# ---------------------------------------------------------------- answers


class ErrorDetail(Open):
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.Str(), values=fields.Raw(), required=True)
    correlation_id = fields.Str(required=True)


class Error(Strict):
    error = fields.Nested(ErrorDetail, required=True)


class Item(Open):
    """A record as the service shows it."""


class Page(Open):
    items = fields.List(fields.Dict(), required=True)
    total = fields.Int(required=True)
    page = fields.Int(required=True)
    page_size = fields.Int(required=True)


class Items(Open):
    items = fields.List(fields.Raw(), required=True)


class Health(Open):
    status = fields.Str(required=True)
    service = fields.Str(required=True)


# ---------------------------------------------------------------- query strings


class PageQuery(Strict):
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Int(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class Export(Strict):
    format = fields.Str(load_default="json", validate=validate.OneOf(["json", "csv"]))
