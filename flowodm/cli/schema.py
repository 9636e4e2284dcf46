"""``flowodm schema subjects|versions|show|diff|check|register|delete|codegen|export``.

The command-line face of ``flowodm.tools``. A schema is named by ``--model
package.module:Class`` (as ``flowodm produce`` takes it), an ``.avsc`` file, or a registry
subject. The registry comes from ``--schema-registry-url`` or the environment
(``SCHEMA_REGISTRY_URL``, credentials from ``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`` or
``SCHEMA_REGISTRY_API_KEY``/``_SECRET``, as ``flowodm.connect``); credentials never appear in
the output. ``--json`` prints one JSON document instead of text.

Exit codes, for a CI step to gate on: 0 compatible / done; 1 incompatible (``check``, or a
``register`` the registry refused as incompatible); 2 usage or connection error (bad flag,
unknown model or subject, unreachable registry, ``delete`` without ``--yes``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowodm.cli.flags import add_registry_url_flag, positive_float
from flowodm.cli.usage import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from flowodm.exceptions import FlowODMError, SchemaRegistryError

if TYPE_CHECKING:
    from collections.abc import Callable

    from flowodm.kafka.connection import Connection
    from flowodm.tools.compat import CompatibilityResult

__all__ = ["add_parser", "run"]

_EPILOG = """\
exit codes:
  0    ok; for check: every model is compatible
  1    incompatible (check), or the registry refused a registration as incompatible
  2    usage or connection error: bad flag, unknown model/subject/file, unreachable registry,
       delete without --yes
"""
_MODEL_SPEC = re.compile(r"^[\w./\\-]+:[A-Za-z_][\w.]*$")
_CONNECTION_KEY = "_schema_connection"


def add_parser(subparsers: Any) -> None:
    """Add ``flowodm schema`` and its sub-commands to the top-level parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schema",
        help="check, diff, register and generate schemas (Schema Registry and .avsc files)",
        description="Check model schemas for compatibility, diff them, and manage subjects.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("registry (default: the environment, as flowodm.connect)")
    add_registry_url_flag(group)
    group.add_argument(
        "--registry-timeout",
        type=positive_float,
        metavar="SECONDS",
        help="seconds per registry request",
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of text")

    def command(name: str, help_: str, action: Callable[..., int]) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name,
            help=help_,
            description=help_,
            parents=[common],
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=run, schema_action=action, schema_parser=sub)
        return sub

    sub = command("subjects", "list the registry's subjects", _subjects)
    sub.add_argument("--prefix", help="only subjects starting with PREFIX")
    sub.add_argument("--deleted", action="store_true", help="include soft-deleted subjects")

    sub = command("versions", "list a subject's versions", _versions)
    _add_target(sub, files=False)

    sub = command("show", "print a schema: a subject's version, a model's or a file's", _show)
    _add_target(sub)
    sub.add_argument("--version", default="latest", help="subject version (default: latest)")

    sub = command("diff", "list the fields added, removed, renamed or changed", _diff)
    sub.add_argument(
        "old", nargs="?", metavar="OLD", help="SUBJECT[@VERSION], FILE.avsc or module:Class"
    )
    sub.add_argument("new", nargs="?", metavar="NEW", help="the same kinds (default: --model)")
    sub.add_argument("--model", metavar="SPEC", help="the new schema; OLD defaults to its subject")
    sub.add_argument("--html", action="store_true", help="print an HTML table")

    sub = command("check", "check models or a schema for compatibility (exit 1 if not)", _check)
    _add_target(sub, subject_positional=False)
    sub.add_argument(
        "--models",
        action="append",
        metavar="MODULE",
        help="every model in MODULE (a package: recursively) against its subject; repeatable",
    )
    sub.add_argument("--subject", help="the subject to check against (default: the model's)")
    sub.add_argument(
        "--against",
        action="append",
        metavar="SCHEMA",
        help="check offline against FILE.avsc "
        "or module:Class instead of the registry; repeat for a history, oldest first",
    )
    sub.add_argument(
        "--level",
        type=str.upper,
        help="BACKWARD, FORWARD, FULL, *_TRANSITIVE, NONE "
        "(default: the subject's level; BACKWARD offline)",
    )

    sub = command("register", "register a model's or a file's schema under a subject", _register)
    _add_target(sub, subject_positional=False)
    sub.add_argument("--subject", help="subject (default: the model's)")
    sub.add_argument("--level", type=str.upper, help="set the subject's compatibility level first")

    sub = command("delete", "delete a subject (soft unless --permanent); needs --yes", _delete)
    sub.add_argument("subject", metavar="SUBJECT")
    sub.add_argument("--permanent", action="store_true", help="hard delete (cannot be undone)")
    sub.add_argument("--yes", action="store_true", help="really delete")

    sub = command("codegen", "write FlowBaseModel source for a subject or an .avsc file", _codegen)
    sub.add_argument("source", metavar="SUBJECT|FILE")
    sub.add_argument("--version", default="latest", help="subject version (default: latest)")
    sub.add_argument("--topic", help="Settings.topic of the generated model")
    sub.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE")

    sub = command("export", "write a model's or a subject's schema as .avsc", _export)
    _add_target(sub, files=False)
    sub.add_argument("--version", default="latest", help="subject version (default: latest)")
    sub.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE")


def _add_target(
    parser: argparse.ArgumentParser, *, files: bool = True, subject_positional: bool = True
) -> None:
    """A positional SUBJECT or FILE, or ``--model SPEC``."""
    kinds = ["SUBJECT"] if subject_positional else []
    kinds += ["FILE.avsc"] if files else []
    if kinds:
        parser.add_argument("target", nargs="?", metavar="|".join(kinds))
    parser.add_argument("--model", metavar="SPEC", help="package.module:Class or file.py:Class")


def run(args: argparse.Namespace) -> int:
    """Run one ``flowodm schema`` action and map its outcome to the exit code."""
    parser: argparse.ArgumentParser = args.schema_parser
    try:
        code: int = args.schema_action(args)
        return code
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SchemaRegistryError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED if exc.http_status == 409 else EXIT_USAGE
    except FlowODMError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        connection: Connection | None = getattr(args, _CONNECTION_KEY, None)
        if connection is not None:
            connection.close()


# --- sources ------------------------------------------------------------------------------


def _connection(args: argparse.Namespace) -> Connection:
    """A registry-only connection from the flags over the environment (not made current)."""
    found: Connection | None = getattr(args, _CONNECTION_KEY, None)
    if found is not None:
        return found
    from flowodm.kafka.config import build_config
    from flowodm.kafka.connection import Connection

    config = build_config(
        schema_registry_url=args.schema_registry_url, registry_timeout=args.registry_timeout
    )
    if not config.schema_registry_url:
        raise UsageError(
            "no Schema Registry configured: pass --schema-registry-url URL or set "
            "SCHEMA_REGISTRY_URL"
        )
    connection = Connection(config)
    setattr(args, _CONNECTION_KEY, connection)
    return connection


def _load_model(spec: str) -> Any:
    from flowodm.cli.modelspec import load_model

    return load_model(spec)


def _is_file(text: str) -> bool:
    return text.endswith((".avsc", ".json")) or Path(text).is_file()


def _source(args: argparse.Namespace, text: str) -> tuple[Any, str]:
    """A schema operand: ``(schema source, label)``; subjects are fetched from the registry."""
    from flowodm.tools.registry import get_subject_version

    if _is_file(text):
        if not Path(text).is_file():
            raise UsageError(f"schema file {text!r} does not exist")
        return Path(text), f"file {text!r}"
    if _MODEL_SPEC.match(text):
        return _load_model(text), f"model {text}"
    subject, _, version = text.partition("@")
    found = get_subject_version(subject, version or "latest", connection=_connection(args))
    return found.schema, f"subject {subject!r} version {found.version}"


def _target(args: argparse.Namespace, *, needed: bool = True) -> tuple[str, Any]:
    """``("model", cls)``, ``("file", path)``, ``("subject", name)`` or ``("none", None)``."""
    target = getattr(args, "target", None)
    if args.model and target:
        raise UsageError("give --model or a positional SUBJECT/FILE, not both")
    if args.model:
        return "model", _load_model(args.model)
    if target:
        if _is_file(target):
            if not Path(target).is_file():
                raise UsageError(f"schema file {target!r} does not exist")
            return "file", Path(target)
        return "subject", target
    if needed:
        raise UsageError("name the schema: --model package.module:Class, a SUBJECT or a FILE")
    return "none", None


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else text)


# --- actions ------------------------------------------------------------------------------


def _subjects(args: argparse.Namespace) -> int:
    from flowodm.tools.registry import list_subjects

    found = list_subjects(prefix=args.prefix, deleted=args.deleted, connection=_connection(args))
    _print(args, found, "\n".join(found) if found else "(no subjects)")
    return EXIT_OK


def _subject_of(kind: str, value: Any) -> str:
    from flowodm.tools.sources import model_subject

    return model_subject(value) if kind == "model" else str(value)


def _versions(args: argparse.Namespace) -> int:
    from flowodm.tools.registry import get_schema_versions

    subject = _subject_of(*_target(args))
    found = get_schema_versions(subject, connection=_connection(args))
    _print(args, {"subject": subject, "versions": found}, " ".join(map(str, found)))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from flowodm.tools.registry import get_subject_version
    from flowodm.tools.sources import model_subject, resolve_schema

    kind, value = _target(args)
    if kind == "subject":
        found = get_subject_version(value, args.version, connection=_connection(args))
        data = {"subject": value, "version": found.version, "id": found.schema_id}
        data["schema"] = found.schema
        head = f"subject {value!r} version {found.version} (id {found.schema_id})"
    else:
        data = {"schema": resolve_schema(value).schema}
        head = f"file {str(value)!r}"
        if kind == "model":
            data["subject"] = model_subject(value)
            head = f"model {args.model} (subject {data['subject']!r}, as it registers)"
    _print(args, data, f"{head}\n{json.dumps(data['schema'], indent=2, ensure_ascii=False)}")
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from flowodm.tools.registry import get_subject_version
    from flowodm.tools.schema_diff import diff
    from flowodm.tools.sources import model_subject

    if args.model:
        if args.new:
            raise UsageError("with --model, give at most one operand (OLD)")
        new, new_label = _load_model(args.model), f"model {args.model}"
        if args.old:
            old, old_label = _source(args, args.old)
        else:
            subject = model_subject(new)
            found = get_subject_version(subject, connection=_connection(args))
            old, old_label = found.schema, f"subject {subject!r} version {found.version}"
    elif args.old and args.new:
        (old, old_label), (new, new_label) = _source(args, args.old), _source(args, args.new)
    else:
        raise UsageError("give OLD and NEW, or --model SPEC (and optionally OLD)")
    result = diff(old, new)
    result = type(result)(old_label, new_label, result.changes)
    if args.html:
        print(result.to_html())
    else:
        _print(args, result.to_dict(), result.to_text())
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from flowodm.cli.modelspec import working_directory_first
    from flowodm.tools.check import check_compatibility
    from flowodm.tools.discover import find_models

    kind, value = _target(args, needed=not args.models)
    if args.models and kind != "none":
        raise UsageError("give --models MODULE or one --model/FILE, not both")
    if args.models and args.subject:
        raise UsageError("--subject applies to one model; --models checks each against its own")
    if kind == "file" and not (args.subject or args.against):
        raise UsageError("checking a FILE needs --subject SUBJECT or --against SCHEMA")
    targets: list[tuple[str, Any]] = []
    if args.models:
        working_directory_first()
        for module in args.models:
            targets += [(f"{m.__module__}:{m.__qualname__}", m) for m in find_models(module)]
        if not targets:
            raise UsageError(f"no FlowBaseModel classes in {', '.join(args.models)}")
    else:
        targets = [(args.model or str(value), value)]
    against = [_source(args, item)[0] for item in args.against] if args.against else None
    results: list[tuple[str, CompatibilityResult | None, str]] = []
    for name, model in targets:
        subject = args.subject
        if against is None and subject is None and not _has_subject(model):
            results.append(
                (name, None, "skipped: no subject (no Settings.topic or schema_subject)")
            )
            continue
        result = check_compatibility(
            model,
            against,
            subject=subject,
            level=args.level,
            connection=None if against is not None else _connection(args),
        )
        results.append((name, result, ""))
    failed = [result for _, result, _ in results if result is not None and not result.compatible]
    if args.json:
        print(
            json.dumps(
                [
                    {"model": name, "skipped": note or None, **(r.to_dict() if r else {})}
                    for name, r, note in results
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for name, outcome, note in results:
            print(_check_line(name, outcome, note))
        checked = sum(outcome is not None for _, outcome, _ in results)
        print(f"{checked} checked, {len(failed)} incompatible")
    return EXIT_FAILED if failed else EXIT_OK


def _has_subject(model: Any) -> bool:
    from flowodm.exceptions import SettingsError
    from flowodm.tools.sources import is_model_class, model_subject

    if not is_model_class(model):
        return False
    try:
        model_subject(model)
    except SettingsError:
        return False
    return True


def _check_line(name: str, result: CompatibilityResult | None, note: str) -> str:
    if result is None:
        return f"skip  {name}: {note}"
    where = f"subject {result.subject!r}, " if result.subject else ""
    head = f"{name} ({where}{result.level}, {result.source})"
    if result.compatible:
        return f"ok    {head}" + (f": {result.note}" if result.note else "")
    lines = [
        f"FAIL  {head}: incompatible"
        + (
            f", field(s) {', '.join(f or '(record)' for f in result.fields)}"
            if result.fields
            else ""
        )
    ]
    lines += [f"        {problem}" for problem in result.problems]
    if not result.problems:
        lines += [f"        {message}" for message in result.messages]
    return "\n".join(lines)


def _register(args: argparse.Namespace) -> int:
    from flowodm.tools.registry import register
    from flowodm.tools.sources import model_subject

    kind, value = _target(args)
    if kind != "model" and not args.subject:
        raise UsageError("registering a FILE needs --subject SUBJECT")
    subject = args.subject or model_subject(value)
    schema_id = register(value, subject, level=args.level, connection=_connection(args))
    data = {"subject": subject, "id": schema_id}
    _print(args, data, f"registered under subject {subject!r}: schema id {schema_id}")
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    from flowodm.tools.registry import delete_subject

    kind = "permanently delete" if args.permanent else "soft-delete"
    if not args.yes:
        raise UsageError(f"refusing to {kind} subject {args.subject!r} without --yes")
    versions = delete_subject(args.subject, permanent=args.permanent, connection=_connection(args))
    data = {"subject": args.subject, "permanent": args.permanent, "versions": versions}
    done = "permanently deleted" if args.permanent else "soft-deleted"
    _print(
        args, data, f"{done} subject {args.subject!r}: version(s) {', '.join(map(str, versions))}"
    )
    return EXIT_OK


def _codegen(args: argparse.Namespace) -> int:
    from flowodm.tools import codegen
    from flowodm.tools.sources import load_schema_from_file

    if _is_file(args.source):
        code = codegen.generate_source(load_schema_from_file(args.source), topic=args.topic)
    else:
        code = codegen.generate_source_from_registry(
            args.source, version=args.version, connection=_connection(args), topic=args.topic
        )
    return _write(args, code, {"source": code})


def _export(args: argparse.Namespace) -> int:
    from flowodm.tools.registry import export_schema

    kind, value = _target(args)
    if kind == "model":
        text = export_schema(value)
    else:
        text = export_schema(subject=value, version=args.version, connection=_connection(args))
    return _write(args, text.rstrip("\n"), {"schema": json.loads(text)})


def _write(args: argparse.Namespace, text: str, data: dict[str, Any]) -> int:
    if args.output is None:
        _print(args, data, text)
        return EXIT_OK
    try:
        args.output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {str(args.output)!r}: {exc}") from None
    _print(args, {**data, "written": str(args.output)}, f"wrote {args.output}")
    return EXIT_OK
