"""The README's Python snippets really run, in order, in one namespace."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_snippets_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"README.md python block {i}", "exec"), namespace)
    # the snippets compute what they claim
    assert namespace["dens"].shape == (5,)
    assert namespace["ms"].cluster_centers_.shape == (3, 3)
    assert namespace["regions"].labels.shape == (48, 64)
