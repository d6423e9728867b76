"""Requests in Redis as JSON (a scrapy-redis serializer module: `loads` and `dumps`).

scrapy-redis pickles by default; unpickling what a shared server hands back would let anyone who
can write to that Redis run code on every worker, so requests travel as JSON. Bytes (headers,
bodies) and mappings with bytes keys (headers) are tagged so they come back as they went in.
"""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "$b"
_PAIRS = "$d"


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and _BYTES not in value and _PAIRS not in value:
            return {k: _encode(v) for k, v in value.items()}
        return {_PAIRS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot queue a value of type {type(value).__name__} in request data")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_BYTES}:
            return base64.b64decode(value[_BYTES])
        if set(value) == {_PAIRS}:
            return {_decode(k): _decode(v) for k, v in value[_PAIRS]}
        return {k: _decode(v) for k, v in value.items()}
    return value


def dumps(obj: Any) -> bytes:
    """JSON bytes of a request dict (bytes and bytes-keyed mappings tagged)."""
    return json.dumps(_encode(obj), separators=(",", ":"), sort_keys=True).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """The object `dumps` encoded."""
    return _decode(json.loads(data))
