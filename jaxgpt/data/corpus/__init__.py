"""A user's own corpus, at any size: which files it is (inputs.py), how each format and compression
reads as documents (formats.py), and how the documents become token files on disk as they are read,
in bounded memory (token_files.py, prepare.py). scripts/prepare.py is its command line."""
