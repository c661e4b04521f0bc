"""Data: the download path against a loopback server, the split, the sampler and device batches."""

import hashlib
import http.server
import socket
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec

from jaxgpt import GPT, GPTConfig
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sampler import BatchSampler
from jaxgpt.data.sources import SHAKESPEARE_SHA256, download_shakespeare, load_text
from jaxgpt.errors import DataError
from jaxgpt.training.devices.sharding import data_mesh, shard_batch, stack_per_device


@pytest.fixture
def serve(shakespeare_path):
    """Serve bytes on 127.0.0.1; returns (url, request counter)."""
    servers = []

    def start(body: bytes):
        requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/input.txt", requests

    yield start
    for server in servers:
        server.shutdown()


def test_download_verifies_and_caches(serve, shakespeare_path, tmp_path):
    url, requests = serve(shakespeare_path.read_bytes())
    path = download_shakespeare(url, tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHAKESPEARE_SHA256
    assert download_shakespeare(url, tmp_path) == path
    assert len(requests) == 1  # the second call used the cache


def test_corrupted_download_is_refused_and_not_cached(serve, shakespeare_path, tmp_path):
    corrupted = bytearray(shakespeare_path.read_bytes())
    corrupted[1000] ^= 1
    url, _ = serve(bytes(corrupted))
    with pytest.raises(DataError, match="is not tiny Shakespeare .*1,115,394 bytes.*pass --data_file PATH"):
        download_shakespeare(url, tmp_path)
    assert not (tmp_path / "tinyshakespeare.txt").exists()


def test_offline_download_says_what_to_do(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DataError, match="could not download tiny Shakespeare .* or pass --data_file PATH"):
        download_shakespeare(f"http://127.0.0.1:{port}/input.txt", tmp_path)


def test_default_dataset_reads_the_cache_directory(monkeypatch, shakespeare_path, tmp_path):
    (tmp_path / "tinyshakespeare.txt").write_bytes(shakespeare_path.read_bytes())
    monkeypatch.setenv("JAXGPT_CACHE_DIR", str(tmp_path))
    assert load_text("shakespeare_char") == shakespeare_path.read_text()


@pytest.mark.parametrize(
    "content,message", [(None, "does not exist"), (b"", "is empty"), (b"\xff\xfe\xfa", "not UTF-8")]
)
def test_bad_data_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "data.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_text(data_file=str(path))


def test_split_is_90_10_in_compact_tokens(shakespeare_path):
    text = shakespeare_path.read_text()
    data = Dataset.from_text(text)
    assert data.train.dtype == np.uint16 and data.val.dtype == np.uint16
    assert len(data.train) == int(len(text) * 0.9) and len(data.train) + len(data.val) == len(text)
    assert data.tokenizer.decode(data.train) + data.tokenizer.decode(data.val) == text


def test_sampler_targets_are_inputs_shifted_and_state_replays():
    tokens = np.arange(1000, dtype=np.uint16)
    sampler = BatchSampler(tokens, block_size=8, seed=3)
    x, y = sampler.sample(2, 4)
    assert x.shape == y.shape == (2, 4, 8) and x.dtype == np.int32
    np.testing.assert_array_equal(y, x + 1)  # tokens are 0..999, so the next token is x + 1
    saved = sampler.state
    expected = sampler.sample(4)
    replay = BatchSampler(tokens, block_size=8, seed=99)
    replay.state = saved
    np.testing.assert_array_equal(replay.sample(4)[0], expected[0])
    np.testing.assert_array_equal(BatchSampler(tokens, 8, seed=3).sample(2, 4)[0], x)


def test_a_token_file_is_read_window_by_window_with_the_same_batches(tmp_path):
    ids = np.random.default_rng(0).integers(0, 60000, size=5000).astype(np.uint16)
    (tmp_path / "train.bin").write_bytes(b"header" + ids.tobytes())
    mapped = np.memmap(tmp_path / "train.bin", dtype=np.uint16, mode="r", offset=6)
    from_file, in_memory = BatchSampler(mapped, 16, seed=7), BatchSampler(ids, 16, seed=7)
    assert from_file.file is not None and in_memory.file is None
    for batch_shape in [(3,), (2, 5), ()]:
        for got, expected in zip(from_file.sample(*batch_shape), in_memory.sample(*batch_shape)):
            assert got.dtype == np.int32 and got.shape == (*batch_shape, 16)
            np.testing.assert_array_equal(got, expected)
    sliced = BatchSampler(mapped[100:], 16, seed=7)  # a slice keeps the file's name, not its own offset
    assert sliced.file is None
    np.testing.assert_array_equal(sliced.sample(4)[0], BatchSampler(ids[100:], 16, seed=7).sample(4)[0])


def test_sampler_rejects_data_shorter_than_a_block():
    with pytest.raises(DataError, match="has 5 tokens, too few for block_size=8"):
        BatchSampler(np.arange(5), block_size=8, seed=0)


def test_batches_are_split_over_the_data_axis():
    mesh = data_mesh()
    assert mesh.size == jax.local_device_count() == 2  # conftest simulates two CPU devices
    x = np.arange(4 * 6).reshape(4, 6)
    sharded = shard_batch(x, mesh)
    assert sharded.sharding.spec == PartitionSpec(("data", "fsdp"))
    shards = sorted(sharded.addressable_shards, key=lambda s: s.index[0].start)
    np.testing.assert_array_equal(np.asarray(shards[1].data), x[2:])
    with pytest.raises(ValueError, match="batch_size=3 is not divisible by the 2 devices of the mesh"):
        shard_batch(np.zeros((3, 6)), mesh)


def test_per_device_stacked_batches_feed_a_shard_map_step():
    mesh = data_mesh()
    model = GPT(GPTConfig(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=8))
    x, y = BatchSampler(np.arange(200) % 11, block_size=6, seed=0).sample(4)
    params = jax.jit(model.init)(jax.random.key(0), x)["params"]

    def device_loss(params, x_1xBdxT, y_1xBdxT):  # runs once per device on its own slice
        logits = model.apply({"params": params}, x_1xBdxT[0])
        loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y_1xBdxT[0][..., None], -1))
        return jax.lax.pmean(loss, "data")

    step = jax.shard_map(
        device_loss,
        mesh=mesh,
        in_specs=(PartitionSpec(), PartitionSpec("data"), PartitionSpec("data")),
        out_specs=PartitionSpec(),
    )
    x_stacked, y_stacked = stack_per_device(x, 2), stack_per_device(y, 2)
    assert x_stacked.shape == (2, 2, 6)
    whole_batch = -jnp.mean(
        jnp.take_along_axis(jax.nn.log_softmax(model.apply({"params": params}, x)), y[..., None], -1)
    )
    np.testing.assert_allclose(jax.jit(step)(params, x_stacked, y_stacked), whole_batch, rtol=1e-6)
    with pytest.raises(ValueError, match="batch_size=3 is not divisible by 2 devices"):
        stack_per_device(x[:3], 2)
