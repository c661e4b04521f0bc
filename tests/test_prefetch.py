"""The prefetching thread: the same batches as the sampler gives directly, a sampler state that
resumes the stream exactly where training is (not where the thread is), errors raised where the
batch was needed, and a clean stop."""

import time

import numpy as np
import pytest

from jaxgpt.data.sampler import BatchSampler
from jaxgpt.errors import InputError
from jaxgpt.training.devices.prefetch import Prefetcher
from jaxgpt.training.devices.sharding import data_mesh

TOKENS = np.arange(1000, dtype=np.uint16) % 97
A, B, T = 2, 4, 8


def direct_stream(seed: int, n: int, state=None) -> list:
    sampler = BatchSampler(TOKENS, T, seed)
    if state is not None:
        sampler.state = state
    return [sampler.sample(A, B) for _ in range(n)]


def test_prefetched_batches_are_the_samplers_own_stream_on_the_mesh():
    expected = direct_stream(seed=5, n=8)
    with Prefetcher(BatchSampler(TOKENS, T, 5), (A, B), data_mesh(), depth=3, on_devices=True) as batches:
        got = [batches.next() for _ in range(8)]
    for (x, y), (x_got, y_got) in zip(expected, got):
        assert x_got.shape == (A, B, T) and x_got.sharding.mesh.size == data_mesh().size
        assert tuple(x_got.sharding.spec) == (None, ("data", "fsdp"))  # split along B
        np.testing.assert_array_equal(np.asarray(x_got), x)
        np.testing.assert_array_equal(np.asarray(y_got), y)


def test_on_a_cpu_the_batches_stay_numpy_arrays_for_the_step_to_take():
    with Prefetcher(BatchSampler(TOKENS, T, 5), (A, B), data_mesh()) as batches:
        x_got, y_got = batches.next()
    assert isinstance(x_got, np.ndarray)
    np.testing.assert_array_equal(x_got, direct_stream(seed=5, n=1)[0][0])
    with pytest.raises(InputError, match="batch_size=3 is not divisible"):  # checked all the same
        with Prefetcher(BatchSampler(TOKENS, T, 5), (A, 3), data_mesh()) as batches:
            batches.next()


@pytest.mark.parametrize("taken", [0, 1, 4])
def test_sampler_state_resumes_at_the_first_batch_not_trained_on(taken):
    sampler = BatchSampler(TOKENS, T, 11)
    with Prefetcher(sampler, (A, B), data_mesh(), depth=3) as batches:
        for _ in range(taken):
            batches.next()
        time.sleep(0.2)  # let the thread fill its queue: it is then 3 batches ahead of training
        state = batches.sampler_state
        following = [batches.next() for _ in range(3)]
    assert sampler.state != state  # the sampler itself has moved on: saving its state would skip batches
    for (x, y), (x_got, _) in zip(direct_stream(11, 3, state=state), following):
        np.testing.assert_array_equal(np.asarray(x_got), x)
    # and that state is the uninterrupted stream's at batch `taken`
    np.testing.assert_array_equal(direct_stream(11, taken + 1)[taken][0], direct_stream(11, 1, state=state)[0][0])


class FailingSampler(BatchSampler):
    def sample(self, *shape):
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 3:
            raise OSError("the data file went away")
        return super().sample(*shape)


def test_an_error_while_sampling_is_raised_by_the_next_that_needs_it():
    with Prefetcher(FailingSampler(TOKENS, T, 0), (A, B), data_mesh()) as batches:
        batches.next(), batches.next()
        with pytest.raises(OSError, match="went away"):
            batches.next()
        # what a checkpoint saves is still right: the state before the batch that failed
        sampler = BatchSampler(TOKENS, T, 0)
        sampler.sample(A, B), sampler.sample(A, B)
        assert batches.sampler_state == sampler.state


def test_leaving_stops_the_thread_even_with_a_full_queue():
    prefetcher = Prefetcher(BatchSampler(TOKENS, T, 0), (A, B), data_mesh(), depth=1)
    with prefetcher:
        time.sleep(0.1)  # the queue is full and the thread waits to put another batch
    assert not prefetcher._thread.is_alive()
    unstarted = Prefetcher(BatchSampler(TOKENS, T, 3), (A, B), data_mesh())
    assert unstarted.sampler_state == BatchSampler(TOKENS, T, 3).state
