"""Generated documentation: docs/configuration.md from the config models, docs/commands.md from click.

Settings and commands are data, so their reference pages are generated and a test checks they are
current. `python -m countywatch.docgen` checks (exit 1 and a diff when stale); `--update` rewrites
the files and prints what changed.
"""

from __future__ import annotations

import difflib
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import click
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from countywatch.cli import COMMANDS, cli
from countywatch.config import BotChannel, Config, EmailChannel, WebhookChannel

_GENERATED = "Generated from {what} by `python -m countywatch.docgen --update`; do not edit."
DOCS = Path(__file__).resolve().parent.parent / "docs"
# Where each nested model lives in the file; channels are one of several types under one key.
_CHANNEL_PATHS = {
    EmailChannel: "notify.channels.<name> (type: email)",
    WebhookChannel: "notify.channels.<name> (type: webhook)",
    BotChannel: "notify.channels.<name> (type: dingtalk | wecom | feishu | slack)",
}


class DocgenError(Exception):
    """A document cannot be generated (e.g. a command's module is missing)."""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " \\| ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        if all(isinstance(a, type) and issubclass(a, BaseModel) for a in args):
            return "mapping"
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map {_type_name(args[0])} → {_type_name(args[1])}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        return "built-in (see below)"
    value = info.default
    if isinstance(value, BaseModel):
        return "see below"
    if value is None:
        return "—"
    if value == "":
        return '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == [] or value == {}:
        return "empty"
    return f"`{value}`"


def _sections() -> Iterator[tuple[str, type[BaseModel]]]:
    """(key path, model) for every model of the file, parents first."""
    seen: set[type[BaseModel]] = set()

    def walk(path: str, model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
        if model in seen:
            return
        seen.add(model)
        yield path, model
        for name, info in model.model_fields.items():
            key = info.alias or name
            for inner in _models_in(info.annotation):
                child = _CHANNEL_PATHS.get(inner)
                if child is None:
                    suffix = "[]" if typing.get_origin(info.annotation) is list else ""
                    suffix = ".<name>" if typing.get_origin(info.annotation) is dict else suffix
                    child = f"{path}.{key}{suffix}" if path else f"{key}{suffix}"
                yield from walk(child, inner)

    yield from walk("", Config)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def config_fields() -> list[tuple[type[BaseModel], str]]:
    """(model, key) of every setting a file may contain."""
    return [
        (model, info.alias or name)
        for _, model in _sections()
        for name, info in model.model_fields.items()
        if not info.exclude
    ]


def render_configuration() -> str:
    """docs/configuration.md."""
    out = [
        "# Configuration reference",
        "",
        f"<!-- {_GENERATED.format(what='countywatch/config.py')} -->",
        "",
        "One YAML file: `--config FILE`, else `$COUNTYWATCH_CONFIG`, else `./sources.yaml`. Secrets are",
        "never in the file: keys ending in `_env` name the environment variable holding the secret.",
        "Durations are written `45s`, `30m`, `6h`, `1d`, `2w`. A commented example with every key is",
        "`deploy/sources.example.yaml`; `countywatch sources validate` checks a file.",
    ]
    for path, model in _sections():
        out += ["", f"## `{path}`" if path else "## top level", "", (model.__doc__ or "").strip(), ""]
        fields = [(info.alias or name, info) for name, info in model.model_fields.items() if not info.exclude]
        # A help column only where the model describes its fields (Field(description=...)).
        with_help = any(info.description for _, info in fields)
        out += ["| key | type | default |" + (" help |" if with_help else ""), "| --- | --- | --- |"]
        out[-1] += " --- |" if with_help else ""
        for key, info in fields:
            row = f"| `{key}` | {_type_name(info.annotation)} | {_default(info)} |"
            out.append(row + (f" {info.description or ''} |" if with_help else ""))
    return "\n".join(out) + "\n"


def _help(command: click.Command, path: list[str]) -> str:
    with click.Context(command, info_name=" ".join(path)) as ctx:
        return command.get_help(ctx)


def render_commands() -> str:
    """docs/commands.md: every command of the `countywatch` group with its --help."""
    out = [
        "# Commands",
        "",
        f"<!-- {_GENERATED.format(what='the click commands')} -->",
        "",
        "Every command takes `--config FILE` and `--help`.",
    ]
    root = click.Context(cli, info_name="countywatch")
    for name in sorted(COMMANDS):
        try:
            command = cli.get_command(root, name)
        except ImportError as exc:
            raise DocgenError(f"countywatch {name}: its module cannot be imported ({exc})") from None
        assert command is not None
        out += ["", f"## countywatch {name}", "", "```text", _help(command, ["countywatch", name]), "```"]
        if isinstance(command, click.Group):
            for sub in sorted(command.list_commands(root)):
                subcommand = command.get_command(root, sub)
                assert subcommand is not None
                out += ["", f"### countywatch {name} {sub}", "", "```text"]
                out += [_help(subcommand, ["countywatch", name, sub]), "```"]
    return "\n".join(out) + "\n"


def generated() -> dict[Path, Callable[[], str]]:
    """Each generated file and the function rendering its current content."""
    return {DOCS / "configuration.md": render_configuration, DOCS / "commands.md": render_commands}


def main(argv: list[str] | None = None) -> int:
    """Check the generated docs (exit 1 with a diff when stale), or rewrite them with --update."""
    update = "--update" in (sys.argv[1:] if argv is None else argv)
    stale = failed = 0
    for path, render in generated().items():
        try:
            text = render()
        except DocgenError as exc:
            print(f"docgen: {path.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if old == text:
            continue
        stale += 1
        diff = difflib.unified_diff(
            old.splitlines(True), text.splitlines(True), str(path), f"{path} (generated)"
        )
        sys.stdout.writelines(diff)
        if update:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path}")
    if stale and not update:
        print(f"{stale} generated doc(s) out of date: run python -m countywatch.docgen --update")
    return 1 if failed or (stale and not update) else 0


if __name__ == "__main__":
    raise SystemExit(main())
