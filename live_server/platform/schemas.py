"""Request and response bodies, declared once as msgspec Structs.

A route's body model is the single declaration of what it accepts: `read_body` validates
a request against it (types, required fields, lengths, ranges) and the OpenAPI document
derives the same model's JSON schema (`schema_components`), so the two cannot drift.
Services keep their semantic checks (a product that exists, a time in the future, ...);
the model only says what shape of body may reach them.

msgspec rather than pydantic: both derive a JSON Schema 2020-12 with `required` (which
OpenAPI 3.1 takes as it is), but msgspec is one small compiled dependency with no plugin
layer, validates several times faster and its Structs are plain typed classes that mypy
checks without a plugin.

A refused body answers 422 with the code `invalid_<field>` (the convention the services
already use) or the code a field declares, `field` (the path: `address.name`,
`items[0].quantity`, for the page to mark the input) and a sentence that names the field
the way a person reads it ("Price must be a whole number from 0 to 100000000.", "Name of the
address is required."), never a raw validator path such as `$.items[0].price_minor`. A
field's `Meta(extra={"label": ...})` gives its words, `extra={"message": ...}` the whole
sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType
from msgspec import inspect as mi

from live_server.platform.errors import Invalid
from live_server.platform.http import read_json
from live_server.platform.words import field_path, path_label, sentence

__all__ = [
    "UNSET",
    "Body",
    "UnsetType",
    "decode_body",
    "present",
    "read_body",
    "schema_components",
]

B = TypeVar("B", bound=msgspec.Struct)

#: Where the OpenAPI document keeps the models' schemas.
REF_TEMPLATE = "#/components/schemas/{name}"


class Body(msgspec.Struct, kw_only=True):
    """Base of the request bodies: keyword fields; unknown fields are ignored unless a
    model says `forbid_unknown_fields=True` (only where a service refused them before)."""


async def read_body(request: web.Request, model: type[B]) -> B:
    """The request body as `model`: 400 when it is not a JSON object (or too deep), 413
    past the size limit (both from `read_json`, the one body reader), 422 when it does not
    match the model. An empty body is read as `{}`."""
    return decode_body(await read_json(request), model)


def decode_body(data: Any, model: type[B]) -> B:
    """`data` (decoded JSON) as `model`, else `Invalid` (422) in words a person reads."""
    try:
        return msgspec.convert(_integral(data), model, strict=True)
    except msgspec.ValidationError as exc:
        raise _refusal(model, str(exc)) from None


def _integral(value: Any) -> Any:
    """`39.0` as `39`: JSON (and JSON Schema) make no difference between them, msgspec's
    strict mode does. Nesting is bounded by `parse_json`'s depth limit."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def present(body: msgspec.Struct) -> dict[str, Any]:
    """The body as the JSON-like dict a service takes: the fields the client sent and the
    model's defaults; a field left `UNSET` is not in the dict (partial updates tell a
    missing field from a null one)."""
    data: dict[str, Any] = msgspec.to_builtins(body)
    return data


def schema_components(
    models: Iterable[type[msgspec.Struct]],
) -> tuple[dict[type[msgspec.Struct], dict[str, Any]], dict[str, Any]]:
    """The `$ref` of each model and the component schemas they need, for OpenAPI 3.1.

    Each model must have a class name of its own: the name is the component's key.
    """
    unique = list(dict.fromkeys(models))
    names: dict[str, type[msgspec.Struct]] = {}
    for model in unique:
        other = names.setdefault(model.__name__, model)
        if other is not model:
            raise ValueError(f"two body models are named {model.__name__}: rename one")
    refs, components = msgspec.json.schema_components(unique, ref_template=REF_TEMPLATE)
    return dict(zip(unique, refs, strict=True)), components


# -- turning a msgspec error into a sentence -----------------------------------------------

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")


def _refusal(model: type[msgspec.Struct], error: str) -> Invalid:
    """A sentence for people ("Price must be a whole number from 0 to 100000000."), the path
    kept as `field` ("address.name", "items[0].quantity") for the page to mark the input."""
    match = _AT.match(error)
    what, path = (match["what"], match["path"] or "") if match else (error, "")
    steps: list[str | int] = [name if name else int(index) for name, index in _STEP.findall(path)]
    if unknown := _UNKNOWN.match(what):
        where = _where(steps)
        return Invalid(
            f"unknown fields: {unknown['name']}" + (f" (in {where})" if where else ""),
            code="unknown_fields",
            field=field_path([*steps, unknown["name"]]),
        )
    if missing := _MISSING.match(what):
        steps.append(missing["name"])
    info = _optional(_field(mi.type_info(model), steps))
    extra = info.extra if isinstance(info, mi.Metadata) and info.extra else {}
    # `invalid_<field>`, nested fields joined: `invalid_source_type`, `invalid_address_country`
    # (the codes the services gave for the same inputs)
    joined = "_".join(step for step in steps if isinstance(step, str))
    code = str(extra.get("code") or (f"invalid_{joined}" if joined else "invalid_body"))
    field = field_path(steps) or None
    name = str(extra.get("label") or path_label(steps) or "the request")
    if missing:
        return Invalid(sentence(f"{name} is required"), code=code, field=field)
    if "message" in extra:
        return Invalid(sentence(str(extra["message"])), code=code, field=field)
    if info is None:  # a path we could not follow (a union's tag): no validator words
        what_is = (
            "is not one of the accepted values"
            if what.startswith("Invalid")
            else ("does not have the documented type")
        )
        return Invalid(sentence(f"{name} {what_is}"), code=code, field=field)
    return Invalid(sentence(f"{name} must be {describe(info)}"), code=code, field=field)


def _field(info: mi.Type, steps: list[str | int]) -> mi.Type | None:
    """The type found at the end of the path (None when the path cannot be followed)."""
    current: mi.Type | None = info
    for step in steps:
        current = _unwrap(current)
        if isinstance(step, str) and isinstance(current, mi.UnionType):
            # tagged unions (`source`): the first member that has the field
            current = next(
                (
                    t
                    for t in current.types
                    if isinstance(t, mi.StructType) and any(f.encode_name == step for f in t.fields)
                ),
                None,
            )
        if isinstance(step, str) and isinstance(current, mi.StructType):
            found = next((f for f in current.fields if f.encode_name == step), None)
            current = found.type if found else None
        elif isinstance(step, int) and isinstance(
            current, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType
        ):
            current = current.item_type
        elif isinstance(step, str) and isinstance(current, mi.DictType):
            current = current.value_type
        else:
            return None
    return current


def _optional(info: mi.Type | None) -> mi.Type | None:
    """The type inside `X | None` (null is never what a person is asked for)."""
    if isinstance(info, mi.UnionType):
        inner = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(inner) == 1:
            return inner[0]
    return info


def _unwrap(info: mi.Type | None) -> mi.Type | None:
    """The type inside metadata or an optional (`X | None`), to walk into it."""
    while True:
        if isinstance(info, mi.Metadata):
            info = info.type
        elif isinstance(info, mi.UnionType):
            inner = [t for t in info.types if not isinstance(t, mi.NoneType)]
            if len(inner) != 1:
                return info
            info = inner[0]
        else:
            return info


def _where(steps: list[str | int]) -> str:
    """`["items", 0, "source"]` -> "source of item 1 of items"."""
    return " of ".join(
        step if isinstance(step, str) else f"item {step + 1}" for step in reversed(steps)
    )


def describe(info: mi.Type) -> str:
    """What a value of this type is, in words: "a whole number from 1 to 99"."""
    if isinstance(info, mi.Metadata):
        return describe(info.type)
    if isinstance(info, mi.BoolType):
        return "true or false"
    if isinstance(info, mi.IntType):
        return "a whole number" + _range(info.ge, info.gt, _bound(info.le), _bound(info.lt))
    if isinstance(info, mi.FloatType):
        return "a number" + _range(info.ge, info.gt, info.le, info.lt)
    if isinstance(info, mi.StrType):
        text = "a string"
        if info.min_length and info.max_length:
            text += f" of {info.min_length}-{info.max_length} characters"
        elif info.max_length is not None:
            text += f" of at most {info.max_length} characters"
        elif info.min_length:
            text += f" of at least {info.min_length} characters"
        return text + (" in the documented format" if info.pattern else "")
    if isinstance(info, mi.LiteralType | mi.EnumType):
        values = info.values if isinstance(info, mi.LiteralType) else _enum_values(info)
        return "one of: " + ", ".join(str(v) for v in values)
    if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        text = "a list of " + _plural(describe(info.item_type))
        if info.max_length is not None:
            text += f" (at most {info.max_length})"
        if info.min_length:
            text += f" (at least {info.min_length})"
        return text
    if isinstance(info, mi.StructType | mi.DictType | mi.TypedDictType | mi.DataclassType):
        return "an object"
    if isinstance(info, mi.NoneType):
        return "null"
    if isinstance(info, mi.UnionType):
        return " or ".join(describe(t) for t in info.types)
    return "of the documented type"


def _enum_values(info: mi.EnumType) -> list[Any]:
    return [member.value for member in info.cls]


def _bound(limit: Any) -> Any:
    """An upper bound worth saying: an id's `lt=2**62` is no limit a person meets."""
    return None if isinstance(limit, int) and limit >= 2**53 else limit


def _range(ge: Any, gt: Any, le: Any, lt: Any) -> str:
    lo = ge if ge is not None else (f"more than {gt}" if gt is not None else None)
    hi = le if le is not None else (f"less than {lt}" if lt is not None else None)
    if ge is not None and le is not None:
        return f" from {ge} to {le}"
    if lo is not None and hi is not None:
        return f" ({lo}, {hi})"
    if ge is not None:
        return f" of at least {ge}"
    if le is not None:
        return f" of at most {le}"
    if gt is not None:
        return f" more than {gt}"
    if lt is not None:
        return f" less than {lt}"
    return ""


def _plural(text: str) -> str:
    for article in ("an ", "a "):
        if text.startswith(article):
            noun, _, rest = text[len(article) :].partition(" ")
            return f"{noun}s" + (f" {rest}" if rest else "")
    return text
