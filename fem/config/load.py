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
    """Set ``data[a][b][0]...`` for ``dotted`` = "a.b.0..." (a list index may append one entry)."""
    keys = dotted.split(".")
    if not all(keys):
        raise CaseError(f"--set {dotted}: empty key; write e.g. --set operation.current_density='1 mA/cm2'")
    node = data
    for depth, k in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not k.isdigit():
                raise CaseError(
                    f"--set {dotted}: {'.'.join(keys[:depth])} is a list; {k!r} is not an index (0, 1, ...)"
                )
            idx = int(k)
            if idx > len(node) or (idx == len(node) and not last):
                raise CaseError(
                    f"--set {dotted}: index {idx} is out of range (the list has {len(node)} entries)"
                )
            if last:
                node[idx : idx + 1] = [value]
                return
            node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[k] = value
                return
            nxt = keys[depth + 1]
            child = node.setdefault(k, [] if nxt.isdigit() else {})
            if not isinstance(child, (dict, list)):
                raise CaseError(f"--set {dotted}: {where} is a value ({child!r}), not a table")
            node = child
        else:
            raise CaseError(f"--set {dotted}: {'.'.join(keys[:depth])} is a value, not a table")


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
        data = tomllib.loads(raw.decode("utf-8-sig"))  # an editor's byte-order mark is fine
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
    hashed = hashlib.sha256(raw + "\n".join(overrides).encode())
    for measured in (setup.window, getattr(setup.window, "roughness", None)):
        if hasattr(measured, "digest"):  # a result is the data's as much as the case file's
            hashed.update(measured.digest().encode())
    return setup, hashed.hexdigest()
