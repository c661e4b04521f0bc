"""A corpus by name: a dataset on the Hugging Face Hub, streamed by the `datasets` library (an
extra: pip install -e ".[datasets]"), row by row as it downloads, so no split is ever whole on
disk or in memory. Whatever `datasets.load_dataset` opens works: a Hub name (with a config and a
split) or a local folder of .jsonl, .parquet or text files, which is how the tests use it."""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Iterator

from tqdm.auto import tqdm

from jaxgpt.data.corpus.formats import field_of, pieces_of
from jaxgpt.errors import DataError


@dataclasses.dataclass(frozen=True)
class HubDataset:
    """One split of a dataset `datasets.load_dataset` opens; rows are documents."""

    name: str
    config: str | None = None
    split: str = "train"
    files = ()  # no files of its own: the rows come through `datasets`

    def bar(self, progress: bool, description: str) -> tqdm:
        """A progress bar over the rows."""
        return tqdm(unit=" rows", unit_scale=True, desc=description, disable=not progress)

    def pieces(self, text_field: str, bar) -> Iterator[tuple[str, bool]]:
        """The pieces of the rows' `text_field`, (text, ends its document); empty rows left out."""
        for number, row in enumerate(self.rows(), start=1):
            text = field_of(row, text_field, f"row {number} of {self}")
            if text:
                yield from pieces_of(iter([text]))
            bar.update(1)

    def rows(self):
        if importlib.util.find_spec("datasets") is None:
            raise DataError('--hf_dataset needs the datasets package: pip install -e ".[datasets]"')
        import datasets

        try:
            return datasets.load_dataset(self.name, self.config, split=self.split, streaming=True)
        except Exception as error:  # datasets raises its own, ValueError, ConnectionError, FileNotFoundError...
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DataError(
                f"could not open {self} ({reason}): check the name, --hf_config, --split and the connection"
            ) from None

    def __str__(self) -> str:
        return f"{self.name}" + (f" ({self.config})" if self.config else "") + f", split {self.split}"
