"""Fuzzing a write RPC with what its schema refuses: a structured refusal, and nothing written.

    from tests.fuzz import refuses_bad_input

    def test_register_household_refuses_junk(reg, registry_db, grids):
        refuses_bad_input(reg.register_household, schemas.RegisterHousehold(),
                          {"building": "B11", "room": "101", "kind": "owner"}, registry_db)

From one valid `base` payload, hypothesis derives inputs the schema refuses: a field of the wrong
type (numbers, lists, booleans, operator dicts such as `{"$gt": ""}` where an id belongs), an
over-long string, a string with a control, bidi-override or zero-width character, an unknown
field, a required field left out, a list element swapped for junk. Each is first loaded through
`schema` here: only an input the schema refuses is sent (the others are discarded, not counted).
The RPC must answer `InvalidInput` whose `fields` name what was wrong, and the document count of
every collection of the service's database (its outbox included) must be what it was.

`wrap` builds the RPC's argument from one payload (`lambda item: [item]` for a bulk import, whose
schema is still the item's). Examples are few (`max_examples=25`, no deadline): the RPC goes over
the real broker to the real database. Run the service with its outbox relay off, so the outbox
only changes if something was written.
"""

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from shared.errors import InvalidInput

OPERATORS = [{"$gt": ""}, {"$ne": None}, {"$regex": ".*"}, {"$in": ["x"]}, {"$where": "1"}]
INVISIBLE = ["\x00", "\x07", "\x1b", "\u202e", "\u202d", "\u2066", "\u200b", "\u200d", "\ufeff", "\x7f"]
UNKNOWN_FIELD = st.from_regex(r"\A[a-z][a-z_]{0,15}\Z")

# A value of the wrong type for most fields (the schema decides which of them it refuses).
WRONG_TYPES = st.one_of(
    st.sampled_from(OPERATORS),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def counts(db):
    """{collection: document count} of a whole database."""
    return {name: db[name].count_documents({}) for name in sorted(db.list_collection_names())}


def _with_invisible(value, char, at):
    at = at % (len(value) + 1)
    return value[:at] + char + value[at:]


def mutations(base, schema):
    """A strategy of (field, payload) pairs derived from `base`; `field` names what was spoilt."""
    declared = schema.fields
    names = sorted(set(base) | set(declared))
    strings = sorted(k for k, v in base.items() if isinstance(v, str))
    lists = sorted(k for k, v in base.items() if isinstance(v, list) and v)
    required = sorted(k for k, f in declared.items() if f.required and k in base)

    def replaced(name, value):
        return name, {**base, name: value}

    options = [
        st.tuples(st.sampled_from(names), WRONG_TYPES).map(lambda t: replaced(*t)),
        st.tuples(st.sampled_from(names), st.sampled_from(OPERATORS)).map(lambda t: replaced(*t)),
        UNKNOWN_FIELD.filter(lambda k: k not in declared).map(lambda k: (k, {**base, k: "x"})),
    ]
    if strings:
        long = st.tuples(st.sampled_from(strings), st.integers(201, 5000))
        options.append(long.map(lambda t: replaced(t[0], ((base[t[0]] or "a") * t[1])[:t[1]])))
        spoilt = st.tuples(st.sampled_from(strings), st.sampled_from(INVISIBLE), st.integers(0, 50))
        options.append(spoilt.map(lambda t: replaced(t[0], _with_invisible(base[t[0]], t[1], t[2]))))
    if required:
        options.append(st.sampled_from(required).map(
            lambda k: (k, {n: v for n, v in base.items() if n != k})))
    if lists:
        junk = st.one_of(st.sampled_from(OPERATORS), st.integers(), st.just("x" * 300),
                         st.sampled_from(INVISIBLE).map(lambda c: f"a{c}b"))
        options.append(st.tuples(st.sampled_from(lists), junk).map(
            lambda t: replaced(t[0], [*base[t[0]][:-1], t[1]])))
    return st.one_of(options)


def refused_locally(schema, payload):
    try:
        schema.load(payload)
    except ValidationError:
        return True
    return False


def field_paths(messages, prefix=""):
    """Every dotted field path of an error's `fields` (nested dicts flattened)."""
    if not isinstance(messages, dict):
        return [prefix] if prefix else []
    paths = []
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        paths.extend(field_paths(value, path) if isinstance(value, dict) else [path])
    return paths


def names(paths, field):
    """Whether an error's paths name `field` (as itself, a parent or an item's field)."""
    return any(field in path.split(".") or path in ("payload", "_schema") for path in paths)


def refuses_bad_input(call, schema, base, db, wrap=None, max_examples=25):
    """Assert `call(wrap(payload))` refuses every schema-refused mutation of `base` with a structured
    InvalidInput naming the spoilt field, writing nothing. `schema`: a marshmallow Schema instance."""
    assert not refused_locally(schema, base), "the base payload must be valid"
    wrap = wrap or (lambda payload: payload)
    before = counts(db)
    seen = []

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(mutations(base, schema))
    def check(case):
        field, payload = case
        assume(refused_locally(schema, payload))
        try:
            answer = call(wrap(payload))
        except InvalidInput as exc:
            refused = exc
        else:
            raise AssertionError(f"accepted {payload!r} (spoilt {field!r}): {answer!r}")
        paths = field_paths(refused.fields)
        assert paths, f"no fields in the refusal of {payload!r}: {refused!r}"
        assert names(paths, field), f"{field!r} spoilt but the refusal names {paths}"
        assert counts(db) == before, f"written after a refusal of {payload!r}"
        seen.append(field)

    check()
    assert seen, "no refused input was tried"
    return seen
