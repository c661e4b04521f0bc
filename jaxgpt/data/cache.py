"""The cache folder: downloads (tiny Shakespeare, GPT-2's files) and compiled steps are kept here."""

from __future__ import annotations

import os
import pathlib

CACHE_ENV = "JAXGPT_CACHE_DIR"


def cache_dir() -> pathlib.Path:
    """Where downloads are kept: $JAXGPT_CACHE_DIR, else ~/.cache/jaxgpt."""
    return pathlib.Path(os.environ.get(CACHE_ENV) or pathlib.Path.home() / ".cache" / "jaxgpt")
