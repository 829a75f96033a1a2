"""Reading a jobs file (YAML or JSON) into plain values, with the line of every value.

Errors name the file, the line and the place in the document, e.g.
``jobs.yaml:14: jobs[2].schedule: invalid minute field '61' ...``; a YAML or JSON syntax
error gives its line too. YAML is read with PyYAML's safe loader (no Python objects,
dates kept as text) from its composed node tree, whose marks give the lines; a key
written twice in one mapping is refused instead of silently keeping the last one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dbcron.errors import ValidationError

#: Where a value sits in the document: mapping keys and list indexes from the top.
Path = tuple[str | int, ...]

#: Positions recorded at most (a document full of aliases cannot make the walk explode).
_MAX_POSITIONS = 200_000
_MERGE = "tag:yaml.org,2002:merge"


class JobFileError(ValidationError):
    """A jobs file that cannot be applied: its message names the file, the line and the
    place in the document. Nothing was written."""


def show_path(path: Path) -> str:
    """``("jobs", 2, "schedule")`` as ``jobs[2].schedule``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Source:
    """A parsed jobs file: its values and the line each was written on."""

    name: str
    """The file's name as the user gave it (``-`` for standard input)."""
    data: Any
    lines: Mapping[Path, int]
    """The line (from 1) of each mapping entry's key and each list item."""

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor with a known line."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: Path, message: str) -> JobFileError:
        """The error for ``message`` about the value at ``path``."""
        where = f" {show_path(path)}:" if path else ""
        return JobFileError(f"{self.name}:{self.line(path)}:{where} {message}")


def load_source(text: str, name: str) -> Source:
    """Parse ``text`` (the content of the file called ``name``): JSON when the name ends
    in ``.json`` or the text is a JSON document, YAML otherwise."""
    data: Any = None
    is_json = False
    if name.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
            is_json = True
        except json.JSONDecodeError as exc:
            if name.lower().endswith(".json"):
                raise JobFileError(
                    f"{name}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})"
                ) from None
    # JSON is YAML's flow style, once the tabs it allows between tokens are spaces (a
    # JSON string cannot hold a raw tab, so only layout changes).
    loader = _Loader(text.replace("\t", " ") if is_json else text)
    try:
        try:
            node = loader.get_single_node()
            lines: dict[Path, int] = {}
            if node is not None:
                _walk(loader, node, (), lines, name, set())
            if not is_json:
                data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        if is_json:  # YAML could not follow this JSON: its values stand, lines unknown
            return Source(name, data, {})
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "cannot be read"
        if "cannot start any token" in problem:
            problem += " (quote a value that starts with @, *, & or `)"
        raise JobFileError(f"{name}:{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise JobFileError(f"{name}:1: invalid YAML: {exc}") from None
    return Source(name, data, lines)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without timestamps: ``2026-01-01`` stays text (config values
    must be JSON)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _walk(
    loader: _Loader, node: Node, path: Path, lines: dict[Path, int], name: str, stack: set[int]
) -> None:
    """Record the line of every entry under ``node`` (at ``path``); refuse a key written
    twice in one mapping. Merge keys (``<<: *base``) are flattened first, as the loader
    does, so merged entries get the line of their definition."""
    if id(node) in stack or len(lines) >= _MAX_POSITIONS:
        return
    stack.add(id(node))
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE:
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise JobFileError(
                        f"{name}:{line}: {show_path((*path, key_node.value))}: written twice "
                        f"in one mapping (first on line {seen[key_node.value]})"
                    )
                seen[key_node.value] = line
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                child = (*path, key_node.value)
                lines[child] = key_node.start_mark.line + 1
                _walk(loader, value_node, child, lines, name, stack)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk(loader, item, (*path, index), lines, name, stack)
    stack.discard(id(node))
