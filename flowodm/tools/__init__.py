"""The schema workflow: check, diff, register, export and generate models, from Python.

    >>> from flowodm import tools
    >>> result = tools.check_compatibility(OrderEvent, against="orders-v1.avsc", level="FULL")
    ... # doctest: +SKIP
    >>> print(tools.diff("orders-v1.avsc", OrderEvent).to_text())  # doctest: +SKIP

Offline checks (``against=``) use Apache ``avro``'s checker (``pip install
'flowodm[sandbox]'``); registry calls go through the connection's registry adapter. Names load
on first use, so ``import flowodm.tools`` is cheap and the code generator
(``flowodm.tools.codegen``) is imported only when one of its names is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowodm._lazy import attach

if TYPE_CHECKING:
    from flowodm.tools.check import (
        ValidationResult,
        check_compatibility,
        check_model_compatibility,
        validate_against_file,
        validate_against_registry,
    )
    from flowodm.tools.codegen import (
        generate_model,
        generate_model_from_registry,
        generate_model_from_schema,
        generate_source,
        generate_source_from_registry,
    )
    from flowodm.tools.compat import LEVELS, CompatibilityProblem, CompatibilityResult
    from flowodm.tools.discover import find_models
    from flowodm.tools.registry import (
        delete_subject,
        export_schema,
        get_schema,
        get_schema_versions,
        get_subject_version,
        list_subjects,
        load_schema_from_registry,
        register,
        upload_schema,
    )
    from flowodm.tools.schema_diff import FieldChange, SchemaDiff, diff
    from flowodm.tools.sources import load_schema_from_file

__all__ = [
    "LEVELS",
    "CompatibilityProblem",
    "CompatibilityResult",
    "FieldChange",
    "SchemaDiff",
    "ValidationResult",
    "check_compatibility",
    "check_model_compatibility",
    "delete_subject",
    "diff",
    "export_schema",
    "find_models",
    "generate_model",
    "generate_model_from_registry",
    "generate_model_from_schema",
    "generate_source",
    "generate_source_from_registry",
    "get_schema",
    "get_schema_versions",
    "get_subject_version",
    "list_subjects",
    "load_schema_from_file",
    "load_schema_from_registry",
    "register",
    "upload_schema",
    "validate_against_file",
    "validate_against_registry",
]

_EXPORTS = {
    **dict.fromkeys(
        (
            "ValidationResult",
            "check_compatibility",
            "check_model_compatibility",
            "validate_against_file",
            "validate_against_registry",
        ),
        "flowodm.tools.check",
    ),
    **dict.fromkeys(
        (
            "generate_model",
            "generate_model_from_registry",
            "generate_model_from_schema",
            "generate_source",
            "generate_source_from_registry",
        ),
        "flowodm.tools.codegen",
    ),
    **dict.fromkeys(
        ("LEVELS", "CompatibilityProblem", "CompatibilityResult"), "flowodm.tools.compat"
    ),
    **dict.fromkeys(("FieldChange", "SchemaDiff", "diff"), "flowodm.tools.schema_diff"),
    "find_models": "flowodm.tools.discover",
    **dict.fromkeys(
        (
            "delete_subject",
            "export_schema",
            "get_schema",
            "get_schema_versions",
            "get_subject_version",
            "list_subjects",
            "load_schema_from_registry",
            "register",
            "upload_schema",
        ),
        "flowodm.tools.registry",
    ),
    "load_schema_from_file": "flowodm.tools.sources",
}

if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__, __dir__ = attach(__name__, _EXPORTS)
