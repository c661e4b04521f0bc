"""The README's Python examples run as written, and the two commands lead it."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_commands():
    first_block = README.read_text().split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert first_block[0].startswith("pip install -e . && python scripts/train.py")
    assert first_block[1].startswith('pip install -e ".[test]" && python -m pytest -q -n 2')
    ci_script = (README.parent / ".ci" / "run").read_text()
    # .ci/run runs the README's second command as written, after checking it is this one
    assert """expected='pip install -e ".[test]" && python -m pytest -q -n 2'""" in ci_script
    assert 'bash -c "$test_command"' in ci_script


def test_readme_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    # tests never touch the network: the example that downloads GPT-2 is proven offline by test_pretrained.py
    blocks = [block for block in blocks if not block.startswith("# needs internet")]
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["logits_BxTxV"].shape == (1, 3, 30)
