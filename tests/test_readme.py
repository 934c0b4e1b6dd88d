"""The README's notebook example runs as written (on a smaller synthetic authority)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_readme_python_example_runs():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "the README should show how to use riskscreen from Python"
    code = "\n".join(blocks)
    assert "n_pupils=20_000" in code
    namespace: dict = {}
    exec(compile(code.replace("n_pupils=20_000", "n_pupils=3_000"), "README.md", "exec"), namespace)
    assert namespace["X"].index.names == ["pupil_id", "as_of_date"]
    assert namespace["y"].index.equals(namespace["X"].index)
    assert namespace["screener"].validation_ is not None


def test_readme_gives_exactly_the_two_commands_ci_runs():
    text = README.read_text()
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", text)
    assert len(commands) == 2
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci
    assert "riskscreen demo" in commands[0]
