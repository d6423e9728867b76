"""Loading the configuration: one YAML file, read safely within bounds and validated before anything runs.

The models of what a valid file holds are `core.config`; this module finds the file (`--config`,
$COUNTYWATCH_CONFIG, ./sources.yaml), parses it, and reports every problem at once, one line each,
naming the file, the key path and the value. Every key is documented in
`deploy/sources.example.yaml`. Secrets are never in the file: a key ending in `_env` names the
environment variable that holds the secret.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.config import DEFAULT_TOPICS, Config, ConfigError, ErrorAt
from core.config.durations import short

CONFIG_ENV = "COUNTYWATCH_CONFIG"
DEFAULT_CONFIG_PATH = "sources.yaml"

# Bounds on what a configuration file may hold, far above any real one: past them the YAML parser
# or the validators would recurse too deeply, spend minutes, or convert absurd integers.
MAX_DEPTH = 50
MAX_VALUES = 200_000  # scalars and collections after YAML aliases are expanded
MAX_INT_DIGITS = 30
MAX_ERROR_LINES = 100


class _LimitError(yaml.YAMLError):
    """A file past one of the bounds above; `mark` says where."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader with limits on nesting depth and integer length, refusing repeated keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, token_class: type[yaml.Token]) -> None:
        # Flow collections ([[[…) are counted while scanning: the scanner's own bookkeeping grows
        # with the depth, so a deep file would take seconds before composing even starts.
        if self.flow_level >= MAX_DEPTH:
            raise _LimitError(f"nested more than {MAX_DEPTH} levels deep", self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML composes recursively: stop before Python's recursion limit does, with a mark.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitError(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys without a word: a second `database:` further
        # down a long file would silently win.
        seen: set[Any] = set()
        for key_node, _ in node.value:
            # `<<: *defaults` merges are not keys; keys given beside them override on purpose.
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise _LimitError(f"key {short(key)} appears twice in one mapping", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _LimitError(f"an integer of {digits} digits is too long", node.start_mark)
        return super().construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _count_values(data: Any) -> int:
    """How many values the data holds, aliases counted each time (stops past MAX_VALUES)."""
    count, stack = 0, [data]
    while stack and count <= MAX_VALUES:
        node = stack.pop()
        count += 1
        if isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            # Name list items by their `name` where they have one: sources[2] (zhenping).
            if isinstance(node, Mapping) and isinstance(node.get("name"), str):
                out += f" ({_cut(node['name'])})"
        else:
            if node is not None and not isinstance(node, Mapping | list):
                # The file wrote a shorthand (schedule: 6h): name the key it has, not the expansion.
                break
            out += f".{_cut(str(part))}" if out else _cut(str(part))
            node = node.get(part) if isinstance(node, Mapping) else None
    return out or "(top level)"


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _validation_errors(exc: ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    out = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p not in ("email", "webhook", "dingtalk", "wecom", "feishu", "slack")]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, ErrorAt):
            loc += cause.at
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append((tuple(loc), msg))
    return out


def _reference_errors(data: Mapping[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    """Names used twice and references to unknown names, read from the raw data.

    The models check these too, but a model's own checks run only when all its values are valid;
    read here, they are reported in the same pass as every other error.
    """
    errors: list[tuple[tuple[int | str, ...], str]] = []
    sources = data.get("sources")
    source_names: set[str] = set()
    for i, source in enumerate(sources if isinstance(sources, list) else []):
        name = source.get("name") if isinstance(source, Mapping) else None
        if isinstance(name, str):
            if name in source_names:
                errors.append((("sources", i, "name"), f"source name {name!r} is used twice"))
            source_names.add(name)
    notify = data.get("notify")
    notify = notify if isinstance(notify, Mapping) else {}
    channels = notify.get("channels")
    channel_names = set(channels) if isinstance(channels, Mapping) else set()
    topics = data.get("topics", DEFAULT_TOPICS)
    topic_names = set(topics) if isinstance(topics, Mapping) else None
    subscriptions = notify.get("subscriptions")
    sub_names: set[str] = set()
    for i, sub in enumerate(subscriptions if isinstance(subscriptions, list) else []):
        if not isinstance(sub, Mapping):
            continue
        at = ("notify", "subscriptions", i)
        name = sub.get("name")
        if isinstance(name, str):
            if name in sub_names:
                errors.append(((*at, "name"), f"subscription name {name!r} is used twice"))
            sub_names.add(name)
        for key, known, what in (
            ("channels", channel_names, "channel"),
            ("topics", topic_names, "topic"),
            ("sources", source_names, "source"),
        ):
            wanted = sub.get(key, ["education"] if key == "topics" else [])
            if known is None or not isinstance(wanted, list):
                continue
            for item in wanted:
                if isinstance(item, str) and item not in known:
                    errors.append(((*at, key), _unknown_reference(what, name, item, known)))
                    break
    return errors


def _unknown_reference(what: str, subscription: Any, name: str, known: set[str]) -> str:
    sub = f"subscription {subscription!r}" if isinstance(subscription, str) else "the subscription"
    if what == "channel":
        return (
            f"{sub} names channel {name!r}, which is not under notify.channels "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )
    if what == "topic":
        return f"{sub} names topic {name!r}, which is not under topics"
    return f"{sub} names source {name!r}, which is not configured"


def _writable_errors(data: Mapping[str, Any], base_dir: str) -> list[tuple[tuple[int | str, ...], str]]:
    """Folders the daemon and crawls write to that cannot be written (checked by writing a file)."""
    errors: list[tuple[tuple[int | str, ...], str]] = []
    crawl, notify = data.get("crawl"), data.get("notify")
    candidates: list[tuple[tuple[int | str, ...], Any]] = [
        (("data_dir",), data.get("data_dir", ".countywatch"))
    ]
    if isinstance(crawl, Mapping):
        candidates.append((("crawl", "cache_dir"), crawl.get("cache_dir")))
    if isinstance(notify, Mapping):
        candidates.append((("notify", "digest_dir"), notify.get("digest_dir")))
    for loc, value in candidates:
        if not isinstance(value, str) or not value:
            continue
        folder = Path(value).expanduser()
        folder = folder if folder.is_absolute() else Path(base_dir) / folder
        problem = _cannot_write(folder)
        if problem:
            errors.append((loc, f"cannot write to {short(value)}: {problem}"))
    return errors


def _cannot_write(folder: Path) -> str | None:
    """Why files cannot be made in `folder` (or in the folder that would hold it); None if they can."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            return f"{existing} is a broken symbolic link"
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".countywatch-probe-")
    except OSError as exc:
        return f"{existing}: {exc.strerror or exc}"
    os.close(fd)
    os.unlink(probe)
    return None


def _error_lines(path: str, errors: list[tuple[tuple[int | str, ...], str]], data: Any) -> str:
    lines = list(dict.fromkeys(f"{path}: {_format_loc(loc, data)}: {msg}" for loc, msg in errors))
    if len(lines) > MAX_ERROR_LINES:
        lines = [*lines[:MAX_ERROR_LINES], f"{path}: … and {len(lines) - MAX_ERROR_LINES} more error(s)"]
    return "\n".join(lines)


def config_from_dict(
    data: Mapping[str, Any], *, path: str = "<config>", base_dir: str = ".", writable: bool = False
) -> Config:
    """Validate a parsed configuration; ConfigError names the file, key path and problem.

    Every error is reported at once, one line each. `writable` also checks that the folders the
    daemon and crawls write to can be written.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(data).__name__}")
    if _count_values(data) > MAX_VALUES:
        raise ConfigError(f"{path}: holds more than {MAX_VALUES} values (YAML aliases expanding?)")
    errors: list[tuple[tuple[int | str, ...], str]] = []
    config: Config | None = None
    if "base_dir" in data:
        errors.append((("base_dir",), "unknown key"))
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        errors += _validation_errors(exc)
    errors += _reference_errors(data)
    if writable:
        errors += _writable_errors(data, base_dir)
    if errors:
        raise ConfigError(_error_lines(path, errors, data))
    assert config is not None
    return config


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path | None:
    """The file to read: the given path, else $COUNTYWATCH_CONFIG, else ./sources.yaml if present."""
    if path is not None:
        return Path(path)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG_PATH)
    return default if default.exists() else None


def load_config(path: str | os.PathLike[str] | None = None, *, writable: bool = False) -> Config:
    """Read and validate the configuration file (YAML, loaded safely, within bounds).

    `writable`: the caller will write to the data folders (the daemon, crawls, digests), so check
    they can be written, in the same pass as every other value.
    """
    resolved = resolve_config_path(path)
    if resolved is None:
        return config_from_dict({}, path="(defaults)", writable=writable)
    try:
        raw = resolved.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read the configuration file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{resolved}: not UTF-8 text (byte {exc.start})") from None
    try:
        # _BoundedLoader is yaml.SafeLoader plus limits: this is safe_load with bounds.
        data = yaml.load(text, Loader=_BoundedLoader)
    except yaml.reader.ReaderError as exc:
        # Characters YAML refuses (NUL, other control characters) are found before any parsing.
        raise ConfigError(
            f"{resolved}: character {exc.position + 1}: invalid YAML: "
            f"unacceptable character #x{exc.character:04x} (control characters are not allowed)"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{resolved}:{where} invalid YAML: {problem}") from None
    if data is None:
        data = {}
    return config_from_dict(
        data, path=str(resolved), base_dir=str(resolved.parent.resolve()), writable=writable
    )
