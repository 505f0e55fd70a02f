"""Loading a case file: TOML, ``--set`` overrides, validation against the schema and
resolution into domain objects, with every refusal worded for the file (its path, the field,
the fix)."""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.resolve import CaseSetup, resolve
from dendrite_fem.config.schema import Case


def set_path(data: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = data
    for k, nxt in zip(keys[:-1], keys[1:], strict=True):
        key = int(k) if isinstance(node, list) else k
        if isinstance(node, list):
            if key >= len(node):
                raise CaseError(
                    f"--set {dotted}: index {key} is out of range (the list has {len(node)} entries)"
                )
            node = node[key]
        else:
            node = node.setdefault(key, [] if nxt.isdigit() else {})
    last = keys[-1]
    if isinstance(node, list):
        idx = int(last)
        if idx == len(node):
            node.append(value)
        elif idx < len(node):
            node[idx] = value
        else:
            raise CaseError(f"--set {dotted}: index {idx} is out of range")
    else:
        node[last] = value


def parse_override(text: str) -> tuple[str, object]:
    """``key.path=value``; the value is read as TOML (numbers, booleans, quoted
    strings, tables) and taken as a plain string when it is not valid TOML."""
    if "=" not in text:
        raise CaseError(f"--set {text!r}: expected key=value, e.g. operation.current_density='1 mA/cm2'")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def _field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    """Names the model accepts at ``loc`` (for "did you mean")."""
    current: object = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        ann = getattr(current, "model_fields", {}).get(part)
        if ann is None:
            return []
        current = ann.annotation
        for arg in getattr(current, "__args__", ()):  # list[X] or X | None
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
    return list(getattr(current, "model_fields", {}))


def format_validation_error(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: the case is not valid:"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            names = _field_names(Case, loc)
            hint = difflib.get_close_matches(str(loc[-1]), names, n=1)
            msg = "unknown key" + (
                f"; did you mean {hint[0]!r}?" if hint else f"; allowed: {', '.join(names)}"
            )
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  {where or '(top level)'}: {msg}")
    return "\n".join(lines)


def validate(data: dict, source: str) -> Case:
    """The case of a parsed TOML table, or a CaseError that lists every invalid field."""
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise CaseError(format_validation_error(source, exc)) from None


def load_case(path: str | Path, overrides: list[str] = ()) -> tuple[CaseSetup, str]:
    """Read, override, validate and resolve a case file; returns the case in domain terms
    and the SHA-256 of the file's bytes plus overrides (recorded in every output)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"{path}: cannot read the case file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: not valid TOML: {exc}") from None
    if "sweep" in data:
        raise CaseError(
            f"{path}: this is a sweep file (it has a [sweep] table); run it with 'dendrite-fem sweep {path}'"
        )
    for text in overrides:
        key, value = parse_override(text)
        set_path(data, key, value)
    setup = resolve(validate(data, str(path)), str(path))
    digest = hashlib.sha256(raw + "\n".join(overrides).encode()).hexdigest()
    return setup, digest
