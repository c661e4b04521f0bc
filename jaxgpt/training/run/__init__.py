"""The run folder: one run per out_dir (folder.py), held by one process at a time (lock.py), its
checkpoints written atomically and verified by checksums (checkpoint.py, checksums.py), and restored
for any kind of run (restore.py)."""
