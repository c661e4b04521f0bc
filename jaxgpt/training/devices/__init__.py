"""The devices: the mesh and how batches and state are laid out on it (sharding.py), processes of a
multi-host run (distributed.py), the compute dtype (precision.py), batches put on the devices ahead
of time (prefetch.py), FLOP counts and MFU (mfu.py) and profiler traces (profiling.py)."""
