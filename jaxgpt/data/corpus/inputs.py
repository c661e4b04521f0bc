"""Which files a corpus is. `--data_file` takes files, folders (read recursively) and globs, any
number of them; the files are read in sorted order, so the same inputs always make the same token
files. A folder contributes the files whose format formats.py knows (a dataset's README or
.gitattributes is not text to train on); a file named on its own is read whatever its name.
`CorpusFiles` reads them as one stream of pieces of documents, with a progress bar over bytes."""

from __future__ import annotations

import dataclasses
import glob
import pathlib
from typing import Iterator

from tqdm.auto import tqdm

from jaxgpt.data.corpus.formats import format_of, read_documents
from jaxgpt.errors import DataError


@dataclasses.dataclass(frozen=True)
class CorpusFiles:
    """A corpus's files, read in order (hub.py's HubDataset is the other kind of corpus)."""

    files: list[pathlib.Path]

    def bar(self, progress: bool, description: str) -> tqdm:
        """A progress bar over the files' bytes."""
        total = sum(path.stat().st_size for path in self.files)
        return tqdm(total=total, unit="B", unit_scale=True, desc=description, disable=not progress)

    def pieces(self, text_field: str, bar) -> Iterator[tuple[str, bool]]:
        """The pieces of the documents, (text, ends its document), in order; a document without
        text is left out. `bar` advances by the bytes read."""
        done_bytes, in_document = 0, False
        for path in self.files:
            for text, ends_document, position in read_documents(path, text_field):
                if text or in_document:  # an empty last piece still ends its document
                    yield text, ends_document
                    in_document = not ends_document
                bar.update(done_bytes + position - bar.n)
            done_bytes += path.stat().st_size


def corpus_files(inputs: list[str]) -> list[pathlib.Path]:
    """The files `inputs` name, in order: each input's own files sorted, duplicates dropped."""
    files: dict[pathlib.Path, None] = {}  # ordered, each once
    for given in inputs:
        for path in files_of(given):
            files.setdefault(path.resolve(), None)
    return list(files)


def files_of(given: str) -> list[pathlib.Path]:
    path = pathlib.Path(given)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not is_hidden(p, path) and format_of(p))
        if not found:
            raise DataError(
                f"folder {given} holds no text, .jsonl or .parquet files (plain or .gz / .zst): "
                "point --data_file at the files themselves"
            )
        return found
    if glob.has_magic(given):
        found = sorted(pathlib.Path(p) for p in glob.glob(given, recursive=True) if pathlib.Path(p).is_file())
        if not found:
            raise DataError(f"--data_file {given} matches no files: check the pattern")
        return found
    raise DataError(f"data file {given} does not exist: pass --data_file a text file, a folder or a glob")


def is_hidden(path: pathlib.Path, folder: pathlib.Path) -> bool:
    """A name starting with a dot below `folder` (.git, .cache, .DS_Store): never a document."""
    return any(part.startswith(".") for part in path.relative_to(folder).parts)
