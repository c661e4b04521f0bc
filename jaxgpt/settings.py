"""One description per setting: a config field's help text (and its closed set of values, if any)
live beside the field, in its metadata. The command lines make their flags and --help from it,
and a test checks the README against it."""

from __future__ import annotations

import dataclasses


def setting(default, help: str, choices: tuple | None = None):
    """A dataclass field with `default`, described by `help` (what it does; the values it takes
    when they are open) and, for a closed set, its `choices` (listed by --help)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


def help_of(field: dataclasses.Field) -> str:
    return field.metadata["help"]


def choices_of(field: dataclasses.Field) -> tuple | None:
    return field.metadata.get("choices")
