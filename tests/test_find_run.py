"""Notebook 04 finds the trained run from wherever Jupyter runs it, and says where it looked."""

from jaxgpt.study.trained_run import find_run


def test_the_run_in_the_repository_root_is_found_from_notebooks(tmp_path):
    run = tmp_path / "repo" / "out-shakespeare-char"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (tmp_path / "repo" / "notebooks").mkdir()
    assert find_run(start=tmp_path / "repo" / "notebooks") == run
    assert find_run(start=tmp_path / "repo") == run


def test_no_run_is_one_line_naming_where_it_looked(tmp_path):
    (tmp_path / "out-shakespeare-char").mkdir()  # a folder, but no run in it (no config.json)
    said = []
    assert find_run(start=tmp_path, echo=said.append) is None
    assert said == [f"no out-shakespeare-char run in {tmp_path.resolve()} or the folders above it"]
