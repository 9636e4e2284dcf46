"""The one private fastavro function FlowODM relies on, pinned down so an upgrade fails here.

``flowodm/serde/_unions.py`` picks a union branch exactly as fastavro's ``write_union`` does, by
calling the validator ``write_union`` itself calls (``fastavro.validation._validate``, private).
If a fastavro release renames it or changes its keywords or its strict rule, this test names
the cause instead of letting branch choice drift silently.
"""

from __future__ import annotations

import fastavro.validation

_RECORD = {"type": "record", "name": "R", "fields": [{"name": "a", "type": ["null", "long"]}]}


def test_the_private_validator_keeps_its_signature_and_strict_rule() -> None:
    validate = getattr(fastavro.validation, "_validate", None)
    assert callable(validate), "fastavro.validation._validate is gone: adapt serde/_unions.py"
    named = {"R": fastavro.parse_schema(_RECORD)}

    def valid(datum: object, strict: bool) -> bool:
        return bool(
            validate(datum, "R", named, raise_errors=False, field="", options={"strict": strict})
        )

    assert valid({"a": 1}, strict=True) and valid({"a": None}, strict=True)
    # Strict: a record missing a field is no match, even one that could be null; lenient
    # validation takes the missing field as null (the divergence of issue 7's schema).
    assert not valid({}, strict=True)
    assert valid({}, strict=False)
    assert not valid({"a": "x"}, strict=False)
