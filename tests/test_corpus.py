"""jaxgpt/data/corpus/: a corpus's files, formats and compressions read as documents, cut only where
GPT-2's pre-tokenizer cuts anyway, and streamed into token files that equal tokenizing it whole."""

import gzip
import json
import random

import numpy as np
import pyarrow
import pyarrow.parquet
import pytest
import regex
import zstandard
from test_tokenizer import tiny_vocab_dir  # noqa: F401 (a fixture)
from tiktoken_ext.openai_public import r50k_pat_str

import jaxgpt.data.corpus.formats as formats
import jaxgpt.data.corpus.prepare as corpus_prepare
from jaxgpt.cli.prepare import prepare_main
from jaxgpt.data.corpus.formats import SAFE_CUT, pieces_of, read_documents
from jaxgpt.data.corpus.inputs import corpus_files
from jaxgpt.data.corpus.prepare import prepare_corpus
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sources import load_text
from jaxgpt.data.tokenizer import BPETokenizer
from jaxgpt.errors import DataError

GPT2_WORDS = regex.compile(r50k_pat_str)  # GPT-2's pre-tokenizer: BPE merges never cross its pieces


def random_text(rng: random.Random, n: int) -> str:
    alphabet = ["a", "b", "Z", "é", "字", "1", "9", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", ".", "'s", "'", "!"]
    return "".join(rng.choice(alphabet) for _ in range(n))


SOME_TEXT = random_text(random.Random(3), 20_000).encode()


def test_every_safe_cut_leaves_gpt2s_pre_tokens_as_they_were():
    rng = random.Random(0)
    checked = 0
    for _ in range(200):
        text = random_text(rng, 40)
        whole = GPT2_WORDS.findall(text)
        for match in SAFE_CUT.finditer(text):
            i = match.start()
            assert GPT2_WORDS.findall(text[:i]) + GPT2_WORDS.findall(text[i:]) == whole, (text, i)
            checked += 1
    assert checked > 1000


def test_a_long_document_comes_in_bounded_pieces_that_tokenize_as_the_whole(monkeypatch, tiny_vocab_dir):  # noqa: F811
    monkeypatch.setattr(formats, "PIECE_CHARS", 50)
    text = random_text(random.Random(1), 3000)
    pieces = list(pieces_of(iter([text[i : i + 37] for i in range(0, len(text), 37)])))
    assert "".join(piece for piece, _ in pieces) == text
    assert [ends for _, ends in pieces] == [False] * (len(pieces) - 1) + [True]
    assert len(pieces) > 10 and max(len(piece) for piece, _ in pieces) <= 100
    monkeypatch.setenv("JAXGPT_GPT2_VOCAB_DIR", str(tiny_vocab_dir))
    encoding = BPETokenizer.gpt2().encoding
    assert sum((encoding.encode(piece) for piece, _ in pieces), []) == encoding.encode(text)


def test_text_without_a_safe_cut_is_cut_anyway_past_sixteen_pieces(monkeypatch):
    monkeypatch.setattr(formats, "PIECE_CHARS", 10)
    pieces = list(pieces_of(iter(["x" * 400])))
    assert "".join(piece for piece, _ in pieces) == "x" * 400 and len(pieces) > 1
    assert max(len(piece) for piece, _ in pieces) <= 170


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def documents_of(path, text_field="text"):
    """The documents a file reads as, whole."""
    documents, current = [], ""
    for text, ends, _ in read_documents(path, text_field):
        current += text
        if ends:
            documents.append(current)
            current = ""
    return documents


def test_each_format_and_compression_reads_as_its_documents(tmp_path):
    records = [{"text": "first doc\n", "id": 1}, {"text": "second, é\n"}, {"text": ""}]
    jsonl = "".join(json.dumps(r) + "\n" for r in records).encode()
    expected = ["first doc\n", "second, é\n", ""]
    assert documents_of(write(tmp_path / "a.jsonl", jsonl)) == expected
    assert documents_of(write(tmp_path / "a.jsonl.gz", gzip.compress(jsonl))) == expected
    assert documents_of(write(tmp_path / "a.jsonl.zst", zstandard.ZstdCompressor().compress(jsonl))) == expected
    text = "a whole text file\r\nis one document\n"
    assert documents_of(write(tmp_path / "b.txt.gz", gzip.compress(text.encode()))) == [text.replace("\r\n", "\n")]
    assert documents_of(write(tmp_path / "no_suffix", text.encode())) == [text.replace("\r\n", "\n")]
    table = pyarrow.table({"id": [1, 2], "content": ["row one", "row two"]})
    pyarrow.parquet.write_table(table, tmp_path / "c.parquet")
    assert documents_of(tmp_path / "c.parquet", "content") == ["row one", "row two"]


@pytest.mark.parametrize(
    "name, data, text_field, message",
    [
        ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', "text", r"line 2 of .*bad.jsonl is not JSON"),
        ("field.jsonl", b'{"body": "x", "id": 1}\n', "text", r"line 1 of .* has no field 'text' \(it has: body, id\)"),
        ("type.jsonl", b'{"text": 3}\n', "text", r"field 'text' is int, not text"),
        ("latin1.txt", "café".encode("latin-1"), "text", r"latin1.txt is not UTF-8 text"),
        ("cut.txt.gz", gzip.compress(SOME_TEXT)[:2000], "text", r"could not read .*cut.txt.gz \(EOFError"),
        ("c.parquet.gz", b"", "text", r"parquet files compress themselves"),
    ],
    ids=["bad json", "no field", "not text", "not utf-8", "truncated gzip", "compressed parquet"],
)
def test_unreadable_documents_are_one_line_errors(tmp_path, name, data, text_field, message):
    with pytest.raises(DataError, match=message):
        documents_of(write(tmp_path / name, data), text_field)


def test_a_parquet_file_without_the_column_lists_its_columns(tmp_path):
    pyarrow.parquet.write_table(pyarrow.table({"body": ["x"]}), tmp_path / "c.parquet")
    with pytest.raises(DataError, match=r"no column 'text' \(its columns: body\): pass --text_field NAME"):
        documents_of(tmp_path / "c.parquet")


def test_a_missing_package_says_what_to_install(tmp_path, monkeypatch):
    path = write(tmp_path / "a.jsonl.zst", zstandard.ZstdCompressor().compress(b"{}\n"))
    monkeypatch.setattr(formats.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"reading .*a.jsonl.zst needs the zstandard package: pip install zstandard"):
        documents_of(path)


def test_folders_are_read_recursively_in_sorted_order_and_skip_what_is_not_text(tmp_path):
    for name in ["b/2.txt", "b/10.jsonl", "a.txt.gz", ".git/x.txt", "b/.hidden.txt", "README.md", "z.parquet"]:
        write(tmp_path / "corpus" / name, b"x")
    write(tmp_path / "other.dat", b"y")
    files = corpus_files([str(tmp_path / "corpus"), str(tmp_path / "other.dat"), str(tmp_path / "corpus" / "a.txt.gz")])
    relative = [str(path.relative_to(tmp_path)) for path in files]
    assert relative == ["corpus/a.txt.gz", "corpus/b/10.jsonl", "corpus/b/2.txt", "corpus/z.parquet", "other.dat"]
    assert corpus_files([str(tmp_path / "corpus" / "b" / "*.txt")]) == [(tmp_path / "corpus" / "b" / "2.txt").resolve()]
    for given, message in [
        ("nowhere.txt", "does not exist: pass --data_file a text file, a folder or a glob"),
        ("nothing*.txt", "matches no files"),
    ]:
        with pytest.raises(DataError, match=message):
            corpus_files([str(tmp_path / given)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no text, .jsonl or .parquet files"):
        corpus_files([str(tmp_path / "empty")])


def test_one_text_file_prepares_exactly_as_it_did_in_memory(tmp_path, shakespeare_path):
    prepared = prepare_corpus([str(shakespeare_path)], tmp_path / "data", "char", progress=False)
    data, in_memory = Dataset.load(tmp_path / "data"), Dataset.from_text(load_text(data_file=str(shakespeare_path)))
    assert (prepared.train_tokens, prepared.val_tokens, prepared.documents) == (1_003_854, 111_540, 1)
    assert np.array_equal(data.train, in_memory.train) and np.array_equal(data.val, in_memory.val)
    assert data.tokenizer.chars == in_memory.tokenizer.chars and data.train.dtype == np.uint16
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["meta.json", "train.bin", "val.bin"]


@pytest.fixture
def many_documents(tmp_path):
    """A folder of 40 documents: 20 .jsonl records, 19 text files and one long, gzipped text."""
    rng = random.Random(2)
    texts = [random_text(rng, rng.randint(1, 300)) for _ in range(40)]
    texts[-1] = random_text(rng, 5000)
    corpus = tmp_path / "corpus"
    write(corpus / "0.jsonl", "".join(json.dumps({"text": t}) + "\n" for t in texts[:20]).encode())
    for i, text in enumerate(texts[20:-1]):
        write(corpus / f"1-{i:02d}.txt", text.encode())
    write(corpus / "2.txt.gz", gzip.compress(texts[-1].encode()))
    # JSON keeps a "\r\n" as written; a text file reads as Python reads text, with "\n"
    return corpus, texts[:20] + [text.replace("\r\n", "\n") for text in texts[20:]]


@pytest.mark.parametrize("val_fraction, held_out", [(0.1, 4), (3, 3)])
def test_many_documents_stream_into_the_tokens_of_each_with_eot_between(
    tmp_path,
    monkeypatch,
    tiny_vocab_dir,  # noqa: F811
    many_documents,
    val_fraction,
    held_out,
):
    monkeypatch.setenv("JAXGPT_GPT2_VOCAB_DIR", str(tiny_vocab_dir))
    monkeypatch.setattr(formats, "PIECE_CHARS", 64)  # the long document in pieces, batches of a few of them
    monkeypatch.setattr(corpus_prepare, "BATCH_CHARS", 500)
    corpus, texts = many_documents
    prepared = prepare_corpus([str(corpus)], tmp_path / "data", "gpt2", val_fraction=val_fraction, num_proc=2)
    encoding = BPETokenizer.gpt2().encoding
    eot, ids = encoding.eot_token, [encoding.encode(text, allowed_special="all") for text in texts]
    train = sum((doc + [eot] for doc in ids[: 40 - held_out]), [])[:-1]
    val = sum(([eot] + doc for doc in ids[40 - held_out :]), [])
    data = Dataset.load(tmp_path / "data")
    assert data.train.tolist() == train and data.val.tolist() == val
    assert (prepared.documents, prepared.files, prepared.vocab_size) == (40, 21, encoding.n_vocab)


def test_characters_beyond_uint16_are_kept_in_uint32(tmp_path):
    chars = "".join(chr(code) for code in range(0x4E00, 0x4E00 + 70_000) if not 0xD800 <= code < 0xE000)
    write(tmp_path / "wide.txt", (chars * 2).encode())
    prepare_corpus([str(tmp_path / "wide.txt")], tmp_path / "data", "char", progress=False)
    data = Dataset.load(tmp_path / "data")
    assert data.train.dtype == np.uint32 and data.tokenizer.vocab_size == len(chars) > 2**16
    assert data.tokenizer.decode(np.concatenate([data.train, data.val])) == chars * 2


def test_an_interrupted_prepare_leaves_nothing_that_reads_as_data(tmp_path, monkeypatch, many_documents):
    corpus, _ = many_documents
    monkeypatch.setattr(corpus_prepare, "BATCH_CHARS", 500)
    batches = corpus_prepare.batches

    def interrupted_at_the_third_batch(pieces):  # two batches are with the worker processes then
        for number, batch in enumerate(batches(pieces)):
            if number == 2:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(corpus_prepare, "batches", interrupted_at_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        prepare_corpus([str(corpus)], tmp_path / "data", "char", num_proc=2, progress=False)
    assert not (tmp_path / "data").exists()  # the folder it made, and the ids it had written, are gone
    (tmp_path / "data").mkdir()
    with pytest.raises(KeyboardInterrupt):  # a folder that was there stays, without the ids
        prepare_corpus([str(corpus)], tmp_path / "data", "char", num_proc=2, progress=False)
    assert list((tmp_path / "data").iterdir()) == []
    monkeypatch.undo()
    prepare_corpus([str(corpus)], tmp_path / "data", "char", progress=False)  # a rerun goes through
    assert Dataset.load(tmp_path / "data").tokenizer.vocab_size > 10


@pytest.mark.parametrize(
    "val_fraction, message",
    [(40, "holds out 40 of 40 documents"), (0.001, "holds out 0 of 40 documents")],
)
def test_a_split_that_leaves_a_side_empty_is_refused(tmp_path, many_documents, val_fraction, message):
    corpus, _ = many_documents
    with pytest.raises(DataError, match=message):
        prepare_corpus([str(corpus)], tmp_path / "data", "char", val_fraction=val_fraction, progress=False)
    assert not (tmp_path / "data").exists()


def test_a_count_of_documents_needs_several_documents(tmp_path, shakespeare_path):
    with pytest.raises(DataError, match="counts documents, but the corpus is one document"):
        prepare_corpus([str(shakespeare_path)], tmp_path / "data", "char", val_fraction=5, progress=False)


def test_prepare_py_takes_folders_and_files_and_says_what_it_made(tmp_path, many_documents, capsys):
    corpus, _ = many_documents
    extra = write(tmp_path / "extra.txt", b"one more document\n")
    out = tmp_path / "data"
    argv = ["--data_file", str(corpus), str(extra), "--tokenizer", "char", "--val_fraction", "2", "--out_dir", str(out)]
    assert prepare_main([*argv, "--num_proc", "1"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    data = Dataset.load(out)
    assert line.startswith(f"{len(data.train):,} train and {len(data.val):,} val tokens")
    assert "from 41 document(s) in 22 file(s)" in line
    assert data.tokenizer.decode(data.val).endswith("\none more document\n")  # the last two documents
