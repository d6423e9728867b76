"""The docs are current: every setting and every command is documented, from the code itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from core.config import DEFAULT_TOPICS, Config, Distributed
from countywatch.cli import COMMANDS
from countywatch.config import load_config
from countywatch.docgen import DOCS, config_fields, render_commands, render_configuration, render_example

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "sources.example.yaml"
# Keys that exclude each other within one mapping: the example shows the alternative commented out.
# Shown commented out: distributed crawling is off in the example (a single machine needs no Redis).
COMMENTED_ALTERNATIVES = {(Distributed, "redis_url"), (Distributed, "redis_url_env")}


def _fields_set(model: BaseModel, found: set[tuple[type[BaseModel], str]]) -> None:
    """Collect (model class, key) for every key the file actually sets, at any depth."""
    for name in model.model_fields_set:
        info = type(model).model_fields[name]
        found.add((type(model), info.alias or name))
    for name in type(model).model_fields:
        _walk(getattr(model, name), found)


def _walk(value: object, found: set[tuple[type[BaseModel], str]]) -> None:
    if isinstance(value, BaseModel):
        _fields_set(value, found)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, found)


def test_example_config_is_valid():
    config = load_config(EXAMPLE)
    assert [s.name for s in config.sources] == ["zhenping-gov", "ankang-jyj"]


def test_example_config_sets_every_key_of_every_model():
    found: set[tuple[type[BaseModel], str]] = set()
    _fields_set(load_config(EXAMPLE), found)
    missing = [
        f"{model.__name__}.{key}"
        for model, key in config_fields()
        if (model, key) not in found and (model, key) not in COMMENTED_ALTERNATIVES
    ]
    assert missing == [], f"keys not shown in {EXAMPLE.name}: {missing}"


def test_example_config_shows_the_alternatives_commented_out():
    text = EXAMPLE.read_text(encoding="utf-8")
    for _, key in COMMENTED_ALTERNATIVES:
        assert re.search(rf"^\s*#\s*{key}:", text, re.M), key


def test_every_key_of_the_example_is_commented():
    # Every key line is preceded by a comment line or carries a trailing comment, or is self-evident
    # inside an already commented block; at least each section has a comment above it.
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    sections = [i for i, line in enumerate(lines) if re.match(r"^[a-z_]+:", line)]
    for i in sections:
        assert lines[i - 1].startswith("#") or "#" in lines[i], f"top-level key without a comment: {lines[i]}"


def test_example_topics_block_is_current():
    assert EXAMPLE.read_text(encoding="utf-8") == render_example(), (
        "deploy/sources.example.yaml topics are stale: run python -m countywatch.docgen --update"
    )


def test_example_education_topic_is_the_built_in_one():
    # Setting `topics` replaces the built-in set; the example must not weaken it for those who copy it.
    assert load_config(EXAMPLE).topics["education"] == Config().topics["education"]
    assert set(DEFAULT_TOPICS) == {"education"}


def test_configuration_reference_is_current():
    assert (DOCS / "configuration.md").read_text(encoding="utf-8") == render_configuration(), (
        "docs/configuration.md is stale: run python -m countywatch.docgen --update"
    )


@pytest.mark.parametrize(("model", "key"), config_fields(), ids=lambda v: getattr(v, "__name__", v))
def test_every_setting_is_in_the_configuration_reference(model, key):
    assert f"| `{key}` |" in (DOCS / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_section_in_the_commands_reference(name):
    assert f"\n## countywatch {name}\n" in (DOCS / "commands.md").read_text(encoding="utf-8")


def test_commands_reference_is_current():
    assert (DOCS / "commands.md").read_text(encoding="utf-8") == render_commands(), (
        "docs/commands.md is stale: run python -m countywatch.docgen --update"
    )
