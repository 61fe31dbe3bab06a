"""Field types every RPC schema uses, so that clean input is the default rather than a habit.

- `Text`: a string, NFC-normalised and stripped; control, bidi-override and zero-width characters
  refused; a maximum length always; blank refused unless `min_length=0`.
- `Id("INC")`: an identifier of a declared shape (prefix, length, charset), checked before any
  query: a dict such as `{"$gt": ""}` or a megabyte string never reaches a filter. `ShapedId`:
  one of an exact pattern (`V-000001`).
- `Code`: a short caller-chosen key (grid code, building, staff id): the id charset, no prefix.
- `Strict`: a schema refusing unknown fields. `argument(field, value, name)` loads a bare RPC
  argument (`get_incident(incident_id)`) through the same field, with its error under `name`.

A unit test walks every service schema and fails on a plain `fields.Str`.
"""

import re
import unicodedata

from marshmallow import RAISE, Schema, ValidationError, fields

from shared.errors import InvalidInput

DEFAULT_MAX_TEXT = 200
ID_CHARSET = "A-Za-z0-9_-"

# Unicode categories refused anywhere: controls (Cc), format characters (Cf: bidi overrides and
# isolates, zero-width space/joiners, BOM), surrogates (Cs) and private use (Co).
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co"}
_MULTILINE_ALLOWED = {"\n", "\t"}


def refused_characters(text, multiline=False):
    """The distinct characters of `text` no field accepts, as U+XXXX names, in order of appearance."""
    allowed = _MULTILINE_ALLOWED if multiline else set()
    bad = []
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES and char not in allowed:
            name = f"U+{ord(char):04X}"
            if name not in bad:
                bad.append(name)
    return bad


def clean_text(value, multiline=False):
    """NFC, stripped (each line's trailing blanks too in multi-line text); ValidationError on
    characters no field accepts."""
    value = unicodedata.normalize("NFC", value).strip()
    bad = refused_characters(value, multiline)
    if bad:
        raise ValidationError(f"contains control or invisible characters: {', '.join(bad[:5])}")
    return value


class Text(fields.String):
    """Human text: `Text()` (1..200), `Text(max_length=2000, multiline=True)`, `Text(min_length=0)`."""

    def __init__(self, max_length=DEFAULT_MAX_TEXT, min_length=1, multiline=False, **kwargs):
        super().__init__(**kwargs)
        self.max_length, self.min_length, self.multiline = max_length, min_length, multiline

    def _deserialize(self, value, attr, data, **kwargs):
        value = clean_text(super()._deserialize(value, attr, data, **kwargs), self.multiline)
        if len(value) < self.min_length:
            raise ValidationError("must not be blank" if not value else
                                  f"at least {self.min_length} characters")
        if len(value) > self.max_length:
            raise ValidationError(f"at most {self.max_length} characters")
        return value


class Id(fields.String):
    """An identifier: `Id("INC")` accepts `INC-…`; `Id()` any id-charset string; `max_length` caps it."""

    def __init__(self, prefix=None, max_length=40, charset=ID_CHARSET, **kwargs):
        super().__init__(**kwargs)
        self.prefix, self.max_length = prefix, max_length
        head = re.escape(prefix) + "-" if prefix else ""
        self.pattern = re.compile(f"^{head}[{charset}]+$")
        self.shape = f"{prefix}-…" if prefix else "letters, digits, '-' or '_'"

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("must be an id string")
        value = value.strip()
        if not value:
            raise ValidationError("must not be blank")
        if len(value) > self.max_length:
            raise ValidationError(f"at most {self.max_length} characters")
        if not self.pattern.match(value):
            raise ValidationError(f"not an id of shape {self.shape}")
        return value


class ShapedId(Id):
    """An id of an exact shape: `ShapedId("vendor_id", r"V-\\d{6}")` (a service keeps its shapes in
    one table and says `Id("vendor_id")`)."""

    def __init__(self, name, regex, max_length=64, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.exact, self.name, self.regex = re.compile(f"^{regex}$"), name, regex

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not self.exact.match(value):
            raise ValidationError(f"not a {self.name}: expected {self.regex}")
        return value


def Code(**kwargs):  # noqa: N802 - a field factory reads like a field class
    """A caller-chosen key (grid code, building, staff id): id charset, up to 40 characters."""
    return Id(**kwargs)


class Strict(Schema):
    """Unknown fields are refused, not ignored: a misspelt field is an error the caller sees."""

    class Meta:
        unknown = RAISE


def argument(field, value, name):
    """Load a bare RPC argument through `field` (declared once, at module level); InvalidInput
    under `name` if it does not fit."""
    schemas = field.__dict__.setdefault("_argument_schemas", {})
    schema = schemas.get(name)
    if schema is None:
        schema = schemas[name] = Strict.from_dict({name: field})()
    try:
        return schema.load({name: value}).get(name)
    except ValidationError as exc:
        raise InvalidInput(f"invalid {name}", exc.normalized_messages()) from None
