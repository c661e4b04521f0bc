"""The command lines of scripts/*.py: flags in, one-line errors out."""
