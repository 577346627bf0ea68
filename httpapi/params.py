"""Reading ids from URLs and query strings: a bad one is a 400 or a 404, never a 500."""

from __future__ import annotations

import errors

MAX_ID = 2**63 - 1  # the largest value a BigAutoField holds


def is_database_id(text: str) -> bool:
    """True for the text of a positive id a BigAutoField can hold."""
    # str.isdigit() accepts "²" and other non-ASCII digits that int() rejects.
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


def parse_id(raw, name: str) -> int:
    """A positive database id from client input, or a 400 naming the field."""
    text = str(raw)
    if not is_database_id(text):
        raise errors.InvalidInput(f"{name} must be a positive integer id, not {text!r}.")
    return int(text)


def query_params_not_empty(params, *names: str) -> None:
    """A 400 naming the first of ``names`` given with an empty value (``?kind=``): the
    schema types these parameters (integer, enum), which no empty string satisfies, so
    an empty value is refused rather than read as "no filter"; leave it out instead."""
    for name in names:
        if name in params and not params.get(name, "").strip():
            raise errors.InvalidInput(
                f"{name} must not be empty; leave the parameter out instead.",
                details={"field": name, "value": params.get(name, "")},
            )
