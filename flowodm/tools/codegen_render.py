"""Render a ``codegen_types.Plan`` as the Python source of a module of FlowODM models.

Names are chosen so that nothing in the module shadows anything it uses: a field named like an
imported or builtin name (``date``, ``str``, ``list``) would otherwise replace it inside the
class body (Python evaluates an annotation after assigning the field's default), so such names
are imported under a ``_``-prefixed alias instead, and a class named like a field is referred
to through a module-level alias. Classes are defined nested-first; a reference to a class that
is not yet defined (recursion) is a quoted annotation, completed by ``model_rebuild()`` at the
end of the module.

Layout follows what ``ruff format`` writes for these shapes, so generated files pass
``ruff format --check`` without ruff at generation time: a statement that fits is one line;
otherwise the last bracket pair of the right-hand side is split, its contents on one indented
line if they fit there, else one item per line with a trailing comma (recursively; a group of
one item gets no trailing comma); an annotation too long by itself is parenthesized (``|``
operands one per line if needed). Literals take ruff's normal forms: double quotes unless that
needs more escapes, lowercase escapes, exponents without ``+``.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Iterator
from dataclasses import dataclass

from flowodm.tools.codegen_types import (
    STR,
    Call,
    DecimalType,
    DefaultValue,
    DictValue,
    EnumClass,
    EnumMember,
    FieldDef,
    ListOf,
    ListValue,
    Literal,
    MapOf,
    Named,
    Plan,
    RecordClass,
    Symbol,
    TypeRef,
    UnionOf,
)

__all__ = ["LINE_LENGTH", "render"]

_INDENT = "    "
_FLOW_BASE_MODEL = Symbol("flowodm", "FlowBaseModel")
_STR_ENUM = Symbol("enum", "StrEnum")
_FIELD = Symbol("pydantic", "Field")
_CONFIG_DICT = Symbol("pydantic", "ConfigDict")
_ANNOTATED = Symbol("typing", "Annotated")
_DECIMAL = Symbol("decimal", "Decimal")
_LIST = Symbol("builtins", "list")
_DICT = Symbol("builtins", "dict")
_STDLIB = frozenset({"builtins", "datetime", "decimal", "enum", "typing", "uuid"})


def render(
    plan: Plan, *, topic: str | None, module_doc: str, consumer_group: str | None = None
) -> str:
    """The module's source text: docstring, notes, imports, aliases, classes, rebuilds."""
    return _Renderer(plan, consumer_group).module(topic, module_doc)


@dataclass(frozen=True)
class _Name:
    """How the module refers to one class: its own name, or an alias defined after it."""

    name: str
    alias: str | None

    @property
    def ref(self) -> str:
        return self.alias or self.name


class _Renderer:
    def __init__(self, plan: Plan, consumer_group: str | None = None) -> None:
        self._plan = plan
        self._consumer_group = consumer_group
        field_names = {
            f.name for cls in plan.classes if isinstance(cls, RecordClass) for f in cls.fields
        }
        self._taken = field_names | {cls.name for cls in plan.classes} | set(keyword.kwlist)
        self._classes: dict[str, _Name] = {}
        for cls in plan.classes:
            alias = self._free(f"_{cls.name}") if cls.name in field_names else None
            if alias is not None:
                self._taken.add(alias)
            self._classes[cls.fullname] = _Name(cls.name, alias)
        self._symbols: dict[Symbol, str] = {}
        self._decimals: dict[DecimalType, str] = {}
        self._forward: set[str] = set()  # classes whose annotations name later classes
        # Classes named before they are defined close a cycle: building one's schema at class
        # definition would rebuild the earlier classes before the closing class has a name,
        # so they defer their pydantic build to the model_rebuild() calls at the end.
        self._deferred = {
            named.fullname
            for cls in plan.classes
            if isinstance(cls, RecordClass)
            for spec in cls.fields
            for named in _named_refs(spec.annotation)
            if named.forward
        }

    def _free(self, name: str) -> str:
        while name in self._taken:
            name = f"_{name}"
        return name

    def _sym(self, symbol: Symbol) -> str:
        """The local name of an imported (or builtin) name, aliased if a field shadows it."""
        if symbol not in self._symbols:
            local = symbol.name if symbol.name not in self._taken else self._free(f"_{symbol.name}")
            self._taken.add(local)
            self._symbols[symbol] = local
        return self._symbols[symbol]

    # ---------------------------------------------------------------- module

    def module(self, topic: str | None, module_doc: str) -> str:
        bodies: list[list[str]] = []
        for cls in self._plan.classes:
            lines = self._enum(cls) if isinstance(cls, EnumClass) else self._record(cls, topic)
            bodies.append(lines)
            alias = self._classes[cls.fullname].alias
            if alias is not None:
                bodies.append([f"{alias} = {cls.name}"])
        rebuilds = [
            f"{self._classes[c.fullname].name}.model_rebuild()"
            for c in self._plan.classes
            if c.fullname in self._forward or c.fullname in self._deferred
        ]
        if rebuilds:
            bodies.append(rebuilds)
        aliases = [self._decimal_alias(d, name) for d, name in self._decimals.items()]
        head = [_docstring(module_doc, ""), ""]
        if self._plan.notes:
            head += [
                "# Differences from the source schema (none changes its Parsing Canonical Form):",
                *(f"# - {note}" for note in self._plan.notes),
                "",
            ]
        head += self._imports()
        parts = ["\n".join(head)]
        if aliases:
            parts.append("\n".join(line for alias in aliases for line in alias))
            return (
                "\n\n".join(parts) + "\n\n\n" + "\n\n\n".join("\n".join(b) for b in bodies) + "\n"
            )
        return parts[0] + "\n\n\n" + "\n\n\n".join("\n".join(b) for b in bodies) + "\n"

    def _imports(self) -> list[str]:
        """isort-ordered imports: stdlib block, then the third-party block (flowodm, pydantic)."""
        plain: dict[str, list[str]] = {}
        aliased: list[tuple[str, str, str]] = []
        for symbol, local in self._symbols.items():
            if local != symbol.name:
                aliased.append((symbol.module, symbol.name, local))
            elif symbol.module != "builtins":
                plain.setdefault(symbol.module, []).append(symbol.name)
        lines: dict[bool, list[tuple[str, str]]] = {True: [], False: []}
        for module, names in plain.items():
            text = ", ".join(sorted(names, key=_isort_key))
            lines[module in _STDLIB].append((module, f"from {module} import {text}"))
        for module, name, local in aliased:
            lines[module in _STDLIB].append((module, f"from {module} import {name} as {local}"))
        blocks = []
        for stdlib in (True, False):
            if lines[stdlib]:
                ordered = sorted(lines[stdlib], key=lambda item: (item[0], item[1]))
                blocks.append("\n".join(text for _, text in ordered))
        return ["\n\n".join(blocks)]

    def _decimal_alias(self, decimal: DecimalType, name: str) -> list[str]:
        field = f"{self._sym(_FIELD)}(max_digits={decimal.precision}, "
        field += f"decimal_places={decimal.scale})"
        value = Atom(f"{self._sym(_ANNOTATED)}[{self._sym(_DECIMAL)}, {field}]")
        return layout_assignment("", name, None, value)

    # ---------------------------------------------------------------- classes

    def _enum(self, cls: EnumClass) -> list[str]:
        lines = [f"class {cls.name}({self._sym(_STR_ENUM)}):"]
        if cls.doc is not None:
            lines += [_docstring(cls.doc, _INDENT), ""]
        lines += [f"{_INDENT}{name} = {str_literal(symbol)}" for name, symbol in cls.members]
        return lines

    def _record(self, cls: RecordClass, topic: str | None) -> list[str]:
        sections: list[list[str]] = []
        if cls.doc is not None:
            sections.append([_docstring(cls.doc, _INDENT)])
        options = []
        if any(len(f.aliases) > 1 for f in cls.fields):
            # validation_alias would otherwise make the field's own name unacceptable input.
            options.append("validate_by_name=True")
        if cls.fullname in self._deferred:
            options.append("defer_build=True")
        if options:
            config = f"{self._sym(_CONFIG_DICT)}({', '.join(options)})"
            sections.append([f"{_INDENT}model_config = {config}"])
        settings = self._settings(cls, topic)
        if settings:
            sections.append([f"{_INDENT}class Settings:", *settings])
        fields = [line for f in cls.fields for line in self._field(cls, f)]
        if fields:
            sections.append(fields)
        if not sections:
            sections.append([f"{_INDENT}pass"])
        header = f"class {cls.name}({self._sym(_FLOW_BASE_MODEL)}):"
        return [header, *_join_sections(sections)]

    def _settings(self, cls: RecordClass, topic: str | None) -> list[str]:
        if cls is not self._plan.top:
            return []
        inner = _INDENT * 2
        options = []
        if topic is not None:
            options.append(f"{inner}topic = {str_literal(topic)}")
        if self._consumer_group is not None:
            options.append(f"{inner}consumer_group = {str_literal(self._consumer_group)}")
        if self._plan.namespace:
            options.append(f"{inner}namespace = {str_literal(self._plan.namespace)}")
        avro_name = cls.fullname.rpartition(".")[2]
        if cls.name != avro_name:
            options.append(f"{inner}record_name = {str_literal(avro_name)}")
        return options

    def _field(self, cls: RecordClass, spec: FieldDef) -> list[str]:
        annotation = self._annotation(cls, spec.annotation)
        value = self._field_value(spec)
        return layout_assignment(_INDENT, spec.name, annotation, value)

    def _field_value(self, spec: FieldDef) -> Expr | None:
        kwargs: list[Expr] = []
        default = spec.default
        if isinstance(default, ListValue | DictValue):
            if not default.items:
                kind = _LIST if isinstance(default, ListValue) else _DICT
                kwargs.append(Atom(f"default_factory={self._sym(kind)}"))
            else:
                kwargs.append(_prefixed(self._value(default), "default="))
            default = None
        elif default is not None and (spec.description is not None or spec.aliases):
            kwargs.append(_prefixed(self._value(default), "default="))
            default = None
        alias_keys = {
            1: ("serialization_alias",),
            2: ("validation_alias", "serialization_alias"),
            3: ("alias", "validation_alias", "serialization_alias"),
        }.get(len(spec.aliases), ())
        for key, alias in zip(alias_keys, spec.aliases, strict=True):
            kwargs.append(Atom(f"{key}={str_literal(alias)}"))
        if spec.description is not None:
            kwargs.append(Atom(f"description={str_literal(spec.description)}"))
        if kwargs:
            return Group(self._sym(_FIELD), "(", tuple(kwargs), ")")
        return None if default is None else self._value(default)

    # ---------------------------------------------------------------- annotations

    def _annotation(self, cls: RecordClass, ref: TypeRef) -> Expr:
        if _has_forward(ref):
            self._forward.add(cls.fullname)
            return Atom(str_literal(self._type_text(ref)))
        if isinstance(ref, UnionOf):
            return Pipe(tuple(self._operands(ref)))
        return Atom(self._type_text(ref))

    def _operands(self, ref: UnionOf) -> Iterator[str]:
        yield from (self._type_text(branch) for branch in ref.branches)
        if ref.nullable:
            yield "None"

    def _type_text(self, ref: TypeRef) -> str:
        if isinstance(ref, Symbol):
            return self._sym(ref)
        if isinstance(ref, DecimalType):
            if ref not in self._decimals:
                name = self._free(f"DecimalP{ref.precision}S{ref.scale}")
                self._taken.add(name)
                self._decimals[ref] = name
            return self._decimals[ref]
        if isinstance(ref, Named):
            return self._classes[ref.fullname].ref
        if isinstance(ref, ListOf):
            return f"{self._sym(_LIST)}[{self._type_text(ref.item)}]"
        if isinstance(ref, MapOf):
            return f"{self._sym(_DICT)}[{self._sym(STR)}, {self._type_text(ref.value)}]"
        return " | ".join(self._operands(ref))

    # ---------------------------------------------------------------- defaults

    def _value(self, value: DefaultValue) -> Expr:
        if isinstance(value, Literal):
            return Atom(_literal(value.value))
        if isinstance(value, EnumMember):
            return Atom(f"{self._classes[value.fullname].ref}.{value.member}")
        if isinstance(value, ListValue):
            return Group("", "[", tuple(self._value(v) for v in value.items), "]")
        if isinstance(value, DictValue):
            items = tuple(_prefixed(self._value(v), f"{str_literal(k)}: ") for k, v in value.items)
            return Group("", "{", items, "}")
        return self._call(value)

    def _call(self, call: Call) -> Expr:
        if isinstance(call.callee, Symbol):
            callee = self._sym(call.callee)
            if not call.args and not call.kwargs:
                return Atom(callee)  # a constant such as datetime.UTC
        else:
            callee = self._classes[call.callee].ref
        items = [self._value(v) for v in call.args]
        items += [_prefixed(self._value(v), f"{k}=") for k, v in call.kwargs]
        return Group(callee, "(", tuple(items), ")")


def _named_refs(ref: TypeRef) -> Iterator[Named]:
    """Every class reference inside an annotation."""
    if isinstance(ref, Named):
        yield ref
    elif isinstance(ref, ListOf):
        yield from _named_refs(ref.item)
    elif isinstance(ref, MapOf):
        yield from _named_refs(ref.value)
    elif isinstance(ref, UnionOf):
        for branch in ref.branches:
            yield from _named_refs(branch)


def _has_forward(ref: TypeRef) -> bool:
    return any(named.forward for named in _named_refs(ref))


def _prefixed(expr: Expr, prefix: str) -> Expr:
    if isinstance(expr, Group):
        return Group(expr.head, expr.open, expr.items, expr.close, prefix + expr.prefix)
    assert isinstance(expr, Atom)
    return Atom(prefix + expr.text)


def _literal(value: str | bytes | int | float | bool | None) -> str:
    if isinstance(value, str):
        return str_literal(value)
    if isinstance(value, bytes):
        return bytes_literal(value)
    if isinstance(value, float):
        return float_literal(value)
    return repr(value)  # int, bool, None


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then other names, case-insensitively."""
    if name.isupper():
        return 0, name.lower()
    return (1 if name[:1].isupper() else 2), name.lower()


def _join_sections(sections: list[list[str]]) -> list[str]:
    """Class body sections separated by one empty line (as ruff formats nested classes)."""
    out: list[str] = []
    for section in sections:
        if out:
            out.append("")
        out.extend(section)
    return out


def _docstring(doc: str, indent: str) -> str:
    """A docstring whose value FlowODM reads back as ``doc`` (via ``inspect.cleandoc``).

    Text that ruff would change inside a docstring (escapes, trailing spaces, quotes at the
    ends) becomes an explicit ``__doc__ = "..."`` assignment instead, which ruff leaves alone.
    """
    if _docstring_safe(doc):
        lines = doc.split("\n")
        if len(lines) == 1:
            return f'{indent}"""{doc}"""'
        body = "\n".join(f"{indent}{line}" if line else "" for line in lines[1:])
        return f'{indent}"""{lines[0]}\n{body}\n{indent}"""'
    return "\n".join(layout_assignment(indent, "__doc__", None, Atom(str_literal(doc))))


def _docstring_safe(doc: str) -> bool:
    lines = doc.split("\n")
    return (
        doc == doc.strip()
        and not doc.startswith('"')
        and not doc.endswith('"')
        and '"""' not in doc
        and "\\" not in doc
        and all(line.isprintable() and line == line.rstrip() for line in lines)
    )


# ------------------------------------------------------------------------------ layout

LINE_LENGTH = 88
"""The line length generated code is laid out for: ruff's (and black's) default."""


@dataclass(frozen=True)
class Atom:
    """Text that is never split (a name, a literal, ``name=`` prefixes included)."""

    text: str


@dataclass(frozen=True)
class Group:
    """``head`` + ``open`` + comma-separated ``items`` + ``close``, e.g. ``Field(a=1, b=2)``.

    ``prefix`` is text glued before the group that belongs to the same item, e.g.
    ``default=`` or a dict key ``"k": ``.
    """

    head: str
    open: str
    items: tuple[Expr, ...]
    close: str
    prefix: str = ""


@dataclass(frozen=True)
class Pipe:
    """Operands joined by `` | `` (a union annotation)."""

    operands: tuple[str, ...]


Expr = Atom | Group | Pipe


def flat(expr: Expr) -> str:
    """The one-line form of ``expr``."""
    if isinstance(expr, Atom):
        return expr.text
    if isinstance(expr, Pipe):
        return " | ".join(expr.operands)
    inner = ", ".join(flat(item) for item in expr.items)
    return f"{expr.prefix}{expr.head}{expr.open}{inner}{expr.close}"


def _fits(line: str) -> bool:
    return len(line) <= LINE_LENGTH


def _split(expr: Expr, indent: str, lead: str, trail: str) -> list[str]:
    """Lines of ``lead + expr + trail`` at ``indent``, splitting ``expr``'s brackets if needed."""
    one = f"{indent}{lead}{flat(expr)}{trail}"
    if _fits(one) or not isinstance(expr, Group) or not expr.items:
        return [one]
    inner = indent + _INDENT
    first = f"{indent}{lead}{expr.prefix}{expr.head}{expr.open}"
    last = f"{indent}{expr.close}{trail}"
    hugged = f"{inner}{', '.join(flat(item) for item in expr.items)}"
    if _fits(hugged):
        return [first, hugged, last]
    if len(expr.items) == 1:
        return [first, *_split(expr.items[0], inner, "", ""), last]
    body = [line for item in expr.items for line in _split(item, inner, "", ",")]
    return [first, *body, last]


def layout_assignment(
    indent: str, target: str, annotation: Expr | None, value: Expr | None
) -> list[str]:
    """Lay out ``target: annotation = value`` (either part optional) as ruff formats it."""
    annotation_text = "" if annotation is None else f": {flat(annotation)}"
    if value is None:
        line = f"{indent}{target}{annotation_text}"
        if _fits(line) or annotation is None:
            return [line]
        return [f"{indent}{target}: (", *_wrapped(annotation, indent + _INDENT), f"{indent})"]
    lead = f"{target}{annotation_text} = "
    one = f"{indent}{lead}{flat(value)}"
    if _fits(one):
        return [one]
    if isinstance(value, Group) and _fits(f"{indent}{lead}{value.prefix}{value.head}{value.open}"):
        return _split(value, indent, lead, "")
    if isinstance(annotation, Pipe):
        return [
            f"{indent}{target}: (",
            *_wrapped(annotation, indent + _INDENT),
            *_split(value, indent, ") = ", ""),
        ]
    inner = f"{indent}{_INDENT}{flat(value)}"
    if isinstance(value, Atom) and _fits(f"{indent}{lead}(") and _fits(inner):
        return [f"{indent}{lead}(", inner, f"{indent})"]  # ruff parenthesizes the value
    return _split(value, indent, lead, "")


def _wrapped(annotation: Expr, indent: str) -> list[str]:
    """The inside of a parenthesized annotation: one line, or one ``|`` operand per line."""
    one = f"{indent}{flat(annotation)}"
    if _fits(one) or not isinstance(annotation, Pipe):
        return [one]
    first, *rest = annotation.operands
    return [f"{indent}{first}", *(f"{indent}| {operand}" for operand in rest)]


def str_literal(text: str) -> str:
    """``text`` as a Python string literal in ruff's preferred quotes and escapes."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + "".join(_escape(char, quote) for char in text) + quote


def bytes_literal(data: bytes) -> str:
    """``data`` as a Python bytes literal (printable ASCII as is, the rest as ``\\xNN``)."""
    text = data.decode("latin-1")
    quote = "'" if text.count('"') > text.count("'") else '"'
    body = "".join(
        _escape(char, quote)
        if 0x20 <= ord(char) < 0x7F or char in "\n\r\t"
        else f"\\x{ord(char):02x}"
        for char in text
    )
    return f"b{quote}{body}{quote}"


_NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str, quote: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if char == quote:
        return "\\" + quote
    if not char.isprintable():
        return repr(char)[1:-1]  # Python's own \x, \u or \U form, lowercase as ruff keeps it
    return char


def float_literal(value: float) -> str:
    """A finite float as ruff normalises it: ``repr`` without the exponent's ``+``."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} has no Python literal")
    return repr(float(value)).replace("e+", "e")
