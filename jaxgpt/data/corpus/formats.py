"""How each kind of file reads as documents, in two tables: `FORMATS` (plain text, JSON lines,
Parquet) and `COMPRESSIONS` (gzip, zstd). Adding one is an entry here and its test.

A document comes out as pieces of about `PIECE_CHARS` characters, each with a flag that says
whether it ends its document, so a 40 GB text file is never in memory. A text file is one
document; a .jsonl line or a Parquet row is one (its `text_field`). A long text is cut only where
GPT-2's BPE would start a new word anyway (`safe_cut`), so the pieces tokenize exactly as the
whole text does."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import importlib
import importlib.util
import io
import json
import pathlib
import re
from typing import Callable, Iterator

from jaxgpt.errors import DataError

PIECE_CHARS = 1 << 20  # ~1 M characters a piece: a few MB of memory, thousands of tokens
Pieces = Iterator[tuple[str, bool]]  # (text, ends its document)


@dataclasses.dataclass(frozen=True)
class Format:
    suffixes: tuple[str, ...]
    documents: Callable  # (binary stream, path, text_field) -> Pieces
    needs: str | None = None  # a package that is not a dependency of jaxgpt
    compressible: bool = True  # may be wrapped in gzip / zstd


def text_documents(stream, path, text_field) -> Pieces:
    yield from pieces_of(utf8_text(stream, path, lambda text: text.read(PIECE_CHARS)))


def jsonl_documents(stream, path, text_field) -> Pieces:
    for number, line in enumerate(utf8_text(stream, path, lambda text: text.readline()), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"line {number} of {path} is not JSON ({error}): fix it or leave the file out") from None
        yield from pieces_of(iter([field_of(record, text_field, f"line {number} of {path}")]))


def parquet_documents(stream, path, text_field) -> Pieces:
    import pyarrow.parquet

    table = pyarrow.parquet.ParquetFile(stream)
    if text_field not in table.schema_arrow.names:
        raise DataError(
            f"{path} has no column {text_field!r} (its columns: {', '.join(table.schema_arrow.names)}): "
            "pass --text_field NAME"
        )
    for batch in table.iter_batches(columns=[text_field], batch_size=1024):
        for text in batch.column(0).to_pylist():
            yield from pieces_of(iter([field_of({text_field: text}, text_field, f"a row of {path}")]))


FORMATS = {
    "text": Format((".txt", ".text"), text_documents),
    "jsonl": Format((".jsonl", ".ndjson"), jsonl_documents),
    "parquet": Format((".parquet",), parquet_documents, needs="pyarrow", compressible=False),
}


def gzip_stream(raw):
    return gzip.GzipFile(fileobj=raw)


def zstd_stream(raw):
    return importlib.import_module("zstandard").ZstdDecompressor().stream_reader(raw)


COMPRESSIONS = {".gz": (gzip_stream, None), ".zst": (zstd_stream, "zstandard")}


def split_suffixes(path: pathlib.Path) -> tuple[str | None, str | None]:
    """(format, compression) that `path`'s name says, e.g. a.jsonl.zst -> ("jsonl", ".zst")."""
    name = path.name.lower()
    compression = next((suffix for suffix in COMPRESSIONS if name.endswith(suffix)), None)
    if compression:
        name = name[: -len(compression)]
    kind = next((kind for kind, format in FORMATS.items() if name.endswith(format.suffixes)), None)
    return kind, compression


def format_of(path: pathlib.Path) -> str | None:
    """The format a file in a folder is read as, or None for files that are not a corpus's."""
    return split_suffixes(path)[0]


def read_documents(path: pathlib.Path, text_field: str = "text") -> Iterator[tuple[str, bool, int]]:
    """The pieces of `path`'s documents, each with the bytes of the file read so far (for a
    progress bar); a file named on its own with a suffix of no format is read as text."""
    kind, compression = split_suffixes(path)
    format = FORMATS[kind or "text"]
    if compression and not format.compressible:
        raise DataError(f"{path}: {kind} files compress themselves; decompress it or leave the file out")
    wrap, needs = COMPRESSIONS.get(compression, (None, None))
    for package in (format.needs, needs):
        if package and importlib.util.find_spec(package) is None:
            raise DataError(f"reading {path} needs the {package} package: pip install {package}")
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(path, "rb"))
        stream = stack.enter_context(wrap(raw)) if wrap else raw
        try:
            for text, ends_document in format.documents(stream, path, text_field):
                yield text, ends_document, raw.tell()
        except (OSError, EOFError) as error:  # a damaged or truncated archive
            raise DataError(f"could not read {path} ({type(error).__name__}: {error}): check the file") from None


def utf8_text(stream, path, read: Callable) -> Iterator[str]:
    """Successive `read(text)` results of the stream decoded as UTF-8 (newlines as Python reads them)."""
    text = io.TextIOWrapper(stream, encoding="utf-8")
    try:
        while chunk := read(text):
            yield chunk
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text: convert it or leave it out") from None
    finally:
        text.detach()  # the file stays open for its owner (read_documents), which closes it


def field_of(record, text_field: str, where: str) -> str:
    if not isinstance(record, dict) or text_field not in record:
        fields = ", ".join(record) if isinstance(record, dict) else type(record).__name__
        raise DataError(f"{where} has no field {text_field!r} (it has: {fields}): pass --text_field NAME")
    text = record[text_field]
    if not isinstance(text, str):
        raise DataError(f"{where}: field {text_field!r} is {type(text).__name__}, not text")
    return text


# a cut before a space that follows a non-space, or after a newline or tab between two non-spaces:
# GPT-2's pre-tokenizer starts a new piece there whatever comes after
SAFE_CUT = re.compile(r"(?<=\S)(?= )|(?<=\S[^\S ])(?=\S)")


def safe_cut(text: str) -> int:
    """The last index where `text` may be cut without changing its GPT-2 tokens; 0 if none."""
    for start in (max(0, len(text) - 65536), 0):
        cuts = [match.start() for match in SAFE_CUT.finditer(text, start)]
        if cuts:
            return cuts[-1]
    return 0


def pieces_of(chunks: Iterator[str]) -> Pieces:
    """One document's text, from `chunks` of any size, as pieces of about PIECE_CHARS cut where
    `safe_cut` allows (a text without such a place for 16 pieces is cut where it is); the last
    piece is flagged as ending the document, and an empty document is one empty piece."""
    carry = ""
    for chunk in chunks:
        carry += chunk
        while len(carry) > PIECE_CHARS:
            cut = safe_cut(carry[: 2 * PIECE_CHARS]) or (PIECE_CHARS if len(carry) > 16 * PIECE_CHARS else 0)
            if cut == 0:
                break
            yield carry[:cut], False
            carry = carry[cut:]
    yield carry, True
