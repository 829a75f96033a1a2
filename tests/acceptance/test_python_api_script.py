"""The README's Python API example, saved as a plain script and run as one.

The example has no ``if __name__ == "__main__":`` guard, as a user's script would not:
process-mode workers must start from dbcron's own entry point and never run it again
(with multiprocessing's ``spawn`` each of the 8 workers re-ran it, creating the job again
and failing with "bootstrapping" RuntimeErrors, and ``stop()`` took 40 s).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.httpserver import Reply, Request, serving

README = Path(__file__).resolve().parents[2] / "README.md"
EMPTY_FEED = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv" / "query_empty.xml"
#: The database URL the example uses; the test points it at a file of its own.
EXAMPLE_URL = "sqlite:///dbcron.db"


def readme_example() -> str:
    """The first ``python`` code block of the README's "The Python API" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## The Python API\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "no python code block in the README's Python API section"
    return found.group(1)


def test_the_readme_example_runs_as_a_plain_script(
    tmp_path: Path, hermetic_env: dict[str, str]
) -> None:
    code = readme_example()
    assert "__main__" not in code
    assert EXAMPLE_URL in code
    database = tmp_path / "example.db"
    script = tmp_path / "example.py"
    script.write_text(code.replace(EXAMPLE_URL, f"sqlite:///{database}"), encoding="utf-8")

    def arxiv(request: Request) -> Reply:
        return Reply(200, EMPTY_FEED.read_bytes(), {"Content-Type": "application/atom+xml"})

    # The example triggers its paper_fetch job and then starts the scheduler: when that
    # run starts before stop(), it reaches "arXiv" through this proxy, not the network.
    with serving(arxiv) as proxy:
        env = {**hermetic_env, "HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url}
        env.pop("NO_PROXY", None)
        env.pop("no_proxy", None)
        ran = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert ran.returncode == 0, ran.stderr
    assert "RuntimeError" not in ran.stderr, ran.stderr
    assert "bootstrapping" not in ran.stderr, ran.stderr
    with contextlib.closing(sqlite3.connect(database)) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM jobs")]
    assert names == ["Daily Paper Fetch"]
