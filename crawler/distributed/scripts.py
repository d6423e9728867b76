"""Lua scripts inside pipelines in one round trip.

redis-py's Script, called on a pipeline, makes the pipeline ask `SCRIPT EXISTS` before every
execute: a second round trip each time. The worker's round trips are mostly pipelines with scripts,
so `RoundTrip` sends them as plain EVALSHA and loads a script only when the server answers NOSCRIPT
(after a restart or SCRIPT FLUSH); such a call ran nothing, so it is simply sent again, after the
pipeline's other commands (which never depend on a script having run before them).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError

ScriptArg = bytes | str | int | float


class RoundTrip:
    """A non-transactional pipeline whose script calls cost no extra round trip."""

    def __init__(self, server: Redis) -> None:
        self.server = server
        self.pipe: Pipeline = server.pipeline(transaction=False)
        self._calls: dict[int, tuple[Script, list[ScriptArg], list[ScriptArg]]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.pipe.reset()

    def __len__(self) -> int:
        return len(self.pipe)

    def script(self, script: Script, keys: Sequence[ScriptArg], args: Sequence[ScriptArg]) -> None:
        """Queue a call of `script` (registered with `Redis.register_script`)."""
        self._calls[len(self.pipe)] = (script, list(keys), list(args))
        self.pipe.evalsha(script.sha, len(keys), *keys, *args)

    def execute(self) -> list[Any]:
        """Send everything queued; the results in order (a failed command raises its error)."""
        results = self.pipe.execute(raise_on_error=False)
        for at, (script, keys, args) in self._calls.items():
            if isinstance(results[at], NoScriptError):
                script.sha = self.server.script_load(script.script)
                results[at] = self.server.evalsha(script.sha, len(keys), *keys, *args)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return list(results)
