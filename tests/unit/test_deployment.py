"""Deployment files: no Docker engine runs here, so check what can be checked.

The compose file parses, the images run the commands the CLI really has, the systemd
unit starts the scheduler, and the example configuration is valid.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from dbcron.cli.app import app
from dbcron.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def dbcron_help(*args: str) -> int:
    return CliRunner().invoke(app, [*args, "--help"]).exit_code


def test_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    scheduler = services["scheduler"]
    assert scheduler["restart"] == "unless-stopped"
    assert scheduler["command"] == ["start"]
    assert scheduler["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "/etc/dbcron/config.yaml" in scheduler["volumes"][0]
    assert services["init"]["command"] == ["init"]
    assert services["postgres"]["image"].startswith("postgres:")
    for service in ("scheduler", "init"):
        assert dbcron_help(*services[service]["command"]) == 0


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1\d-slim$", text, re.MULTILINE)
    assert re.search(r"^USER dbcron$", text, re.MULTILINE)
    assert 'ENTRYPOINT ["dbcron"]' in text
    assert 'CMD ["start"]' in text
    assert "DBCRON_CONFIG=/etc/dbcron/config.yaml" in text
    assert dbcron_help("start") == 0


def test_systemd_unit() -> None:
    text = (ROOT / "deploy" / "dbcron.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    assert exec_start is not None
    argv = shlex.split(exec_start.group(1))
    assert argv[0].endswith("/dbcron")
    assert dbcron_help(*argv[1:]) == 0
    assert "User=dbcron" in text
    assert "KillSignal=SIGTERM" in text


def test_readme_documents_the_same_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up -d" in readme
    assert "deploy/dbcron.service" in readme
    assert "dbcron schema --supabase" in readme
    code_lines: list[str] = []
    inside = False
    for line in readme.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
        elif inside:
            code_lines.append(line.strip())
    pattern = r"(?:^|&& |exec scheduler )(?:\.venv/bin/)?dbcron ([a-z]+)"
    commands = set(re.findall(pattern, "\n".join(code_lines), re.MULTILINE))
    assert {"init", "create", "start", "status", "schema", "stop"} <= commands
    for command in commands:
        assert dbcron_help(command) == 0, command


def test_example_config_is_valid_and_matches_the_defaults(tmp_path: Path) -> None:
    loaded = load_settings(config_path=ROOT / "config.example.yaml", environ={}, cwd=tmp_path)
    assert loaded.settings == Settings()
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_settings(config_path=empty, environ={}, cwd=tmp_path).settings == Settings()
