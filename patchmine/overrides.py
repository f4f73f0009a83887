"""Values given on the command line, read back as the numbers, booleans and lists they were.

Snakemake reads ``--config key=value`` with YAML's base loader, so in
``--config report='{allow_partial: true}'`` every nested value arrives as text ('true'), and the
schema would refuse it ("'true' is not of type 'boolean'"). Each such text is read again with
YAML's safe loader unless its place in the schema holds that text as it is: a folder named
``2024`` stays a path, ``amp: auto`` stays ``'auto'`` while ``amp: false`` becomes False.
Top-level values (``--config mine=/data/hr``) are typed by Snakemake itself and left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml


def read_back_command_line(config: dict, given: Mapping, schema_file: str | Path) -> None:
    """Type, in ``config``, the nested text values that ``given`` (``--config``'s entries,
    ``workflow.config_settings.config``) put there, guided by the config's JSON schema."""
    schema = yaml.safe_load(Path(schema_file).read_text())
    _refuse_misplaced(given, schema)
    for key, value in given.items():
        if isinstance(value, dict | list) and key in config:
            config[key] = _read_back(config[key], value, _children([schema], key, schema), schema)


def _refuse_misplaced(given: Mapping, schema: dict) -> None:
    """A command-line key with no place at the config's top level that a section holds
    (``--config mine=DIR keep=0.3``) is refused with the nested form to write, rather than left
    to the schema's "('keep' was unexpected)" above a dump of the whole config."""
    from patchmine.config import ConfigError

    top = schema.get("properties", {})
    for key, value in given.items():
        if key in top:
            continue
        owners = [
            section
            for section, node in top.items()
            if any(key in sub.get("properties", {}) for sub in _expand([node], schema))
        ]
        if owners:
            section = owners[0]
            folder = given.get("mine") if isinstance(given.get("mine"), str) else None
            images = f"images: {folder or '/path/to/images'}, " if section == "mine" else ""
            raise ConfigError(
                f"--config {key}={value}: `{key}` belongs under `{section}`; write "
                f"--config {section}='{{{images}{key}: {value}}}'"
            )


def _read_back(current, given, nodes: list, schema: dict):
    """``current`` (the merged config's value) with the text that came from ``given`` typed."""
    if isinstance(given, dict) and isinstance(current, dict):
        for key, value in given.items():
            if key in current:
                current[key] = _read_back(
                    current[key], value, _children(nodes, key, schema), schema
                )
        return current
    if isinstance(given, list) and isinstance(current, list) and len(given) == len(current):
        return [
            _read_back(item, given[i], _children(nodes, i, schema), schema)
            for i, item in enumerate(current)
        ]
    if isinstance(current, str) and current == given and not _holds_text(nodes, current, schema):
        try:
            return yaml.safe_load(current)
        except yaml.YAMLError:
            return current  # the schema's check names the key and the value
    return current


def _expand(nodes: list, schema: dict) -> list[dict]:
    """The nodes and every subschema that applies at the same place ($ref, allOf, if/then…)."""
    out, todo = [], list(nodes)
    while todo:
        node = todo.pop()
        if not isinstance(node, dict) or any(node is seen for seen in out):
            continue
        out.append(node)
        if "$ref" in node:
            todo.append(_resolve(node["$ref"], schema))
        for combinator in ("allOf", "anyOf", "oneOf"):
            todo.extend(node.get(combinator, []))
        todo.extend(node[k] for k in ("then", "else") if k in node)
    return out


def _resolve(ref: str, schema: dict):
    node = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def _children(nodes: list, key, schema: dict) -> list:
    """The subschemas for member ``key`` (a name, or an index into a list) of ``nodes``."""
    out = []
    for node in _expand(nodes, schema):
        if isinstance(key, int):
            prefix = node.get("prefixItems", [])
            out.append(prefix[key] if key < len(prefix) else node.get("items"))
            continue
        properties = node.get("properties", {})
        if key in properties:
            out.append(properties[key])
            continue
        patterns = [s for p, s in node.get("patternProperties", {}).items() if re.search(p, key)]
        out.extend(patterns)
        if not patterns and isinstance(node.get("additionalProperties"), dict):
            out.append(node["additionalProperties"])
    return [node for node in out if isinstance(node, dict)]


def _holds_text(nodes: list, text: str, schema: dict) -> bool:
    """Whether the schema takes ``text`` as text here: a string type, or an enum or const
    naming it."""
    for node in _expand(nodes, schema):
        types = node.get("type", [])
        if "string" in ([types] if isinstance(types, str) else types):
            return True
        if text in node.get("enum", []) or node.get("const") == text:
            return True
    return False
