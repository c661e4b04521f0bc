"""Batches ready before they are needed: a background thread samples the next steps' batches and
puts them on the devices while the current step runs, so the loop never waits on the host.

The sampler's state saved in a checkpoint must be its state before the first batch not yet
trained on, or a resumed run would skip the batches that sat in the queue. So the thread notes
the sampler's state before drawing each batch, and `sampler_state` is the one noted before the
batch `next()` returns next: a resumed run then draws exactly the uninterrupted run's batches.

On a CPU the devices are the host's own memory: there is nothing to copy ahead, and putting a
batch on them costs more than the small steps of a CPU run are worth (~0.1 ms of a ~0.5 ms
step on a tiny model). So there the batches stay NumPy arrays, which the jitted step takes as
they are, split over the mesh as its input shardings say."""

from __future__ import annotations

import copy
import queue
import threading

import jax

from jaxgpt.data.sampler import SeededSampler
from jaxgpt.training.devices.sharding import check_divisible, shard_batch


class Prefetcher:
    """`next()` gives one step's batch [A, B, ...], already on the mesh (or, on a CPU, NumPy arrays
    for the step to take as they are); at most `depth` wait ahead.
    Use it as a context manager: the thread starts on entry and stops on exit. An error while
    sampling is raised by the `next()` that needed the batch."""

    def __init__(self, sampler: SeededSampler, batch_shape: tuple[int, ...], mesh, depth: int = 2, on_devices=None):
        self.sampler, self.batch_shape, self.mesh = sampler, batch_shape, mesh
        # by default on the devices except on one CPU process (several processes must each put
        # only their own rows on their own devices: shard_batch does that)
        self.on_devices = (
            jax.default_backend() != "cpu" or jax.process_count() > 1 if on_devices is None else on_devices
        )
        self._ready: queue.Queue = queue.Queue(maxsize=depth)  # batches in order, or the error that ended them
        self._states: dict[int, dict] = {}  # batch number -> the sampler's state just before drawing it
        self._noted = threading.Condition()
        self._error: BaseException | None = None
        self._taken = 0  # batches next() has returned
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="jaxgpt-prefetch", daemon=True)

    def __enter__(self) -> "Prefetcher":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stopping.set()
        while self._thread.is_alive():  # make room, in case the thread waits to put a batch
            try:
                self._ready.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.01)

    def _fill(self) -> None:
        number = 0
        try:
            while not self._stopping.is_set():
                with self._noted:
                    self._states[number] = copy.deepcopy(self.sampler.state)
                    self._noted.notify_all()
                self._put(self._prepare(self.sampler.sample(*self.batch_shape)))
                number += 1
        except BaseException as error:  # raised in the loop, where the batch was needed
            with self._noted:
                self._error = error
                self._noted.notify_all()
            self._put(error)

    def _prepare(self, batch_AxB):
        if self.on_devices:
            return shard_batch(batch_AxB, self.mesh, batch_axis=1)
        check_divisible(self.batch_shape[1], self.mesh)
        return batch_AxB

    def _put(self, item) -> None:
        while not self._stopping.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self):
        """The next step's batch; waits only when the thread is behind."""
        item = self._ready.get()
        if isinstance(item, BaseException):
            raise item
        with self._noted:
            self._states.pop(self._taken)  # its state is no longer what a checkpoint needs
        self._taken += 1
        return item

    @property
    def sampler_state(self) -> dict:
        """The sampler's state before the batch `next()` returns next: what a checkpoint saves."""
        if self._thread.ident is None:  # not started: nothing drawn ahead
            return copy.deepcopy(self.sampler.state)
        with self._noted:
            # the thread notes it first thing, or right after putting the batch before it
            self._noted.wait_for(lambda: self._taken in self._states or self._error is not None)
            if self._taken not in self._states:
                raise self._error
            return self._states[self._taken]
