import json

import pytest

from jaxgpt.data.tokenizer import BPETokenizer, CharTokenizer, TokenizerError, tokenizer_from_dict


def test_shakespeare_has_nanogpts_65_characters_in_sorted_order(shakespeare_path):
    tokenizer = CharTokenizer.from_text(shakespeare_path.read_text())
    assert tokenizer.vocab_size == 65
    assert tokenizer.chars[:3] == "\n !" and tokenizer.chars[-1] == "z"
    ids = tokenizer.encode("ROMEO:")
    assert ids.tolist() == [30, 27, 25, 17, 27, 10]  # nanoGPT's stoi gives the same ids
    assert tokenizer.decode(ids) == "ROMEO:"


def test_round_trip_through_the_saved_dict():
    tokenizer = CharTokenizer.from_text("hello world")
    restored = tokenizer_from_dict(tokenizer.to_dict())
    assert restored.chars == " dehlorw"
    assert restored.decode(restored.encode("low door")) == "low door"


def test_unknown_characters_are_listed_in_the_error():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"2 character\(s\) outside the tokenizer's 3-character vocabulary: 'x', 'é'"):
        tokenizer.encode("abxcé")


def test_unknown_tokenizer_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown tokenizer kind 'sentencepiece'"):
        tokenizer_from_dict({"kind": "sentencepiece"})


def data_gym_alphabet():
    """GPT-2's byte -> printable character table (its encoder.json spells tokens with these)."""
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    table, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@pytest.fixture
def tiny_vocab_dir(tmp_path):
    """vocab.bpe and encoder.json in GPT-2's format, with three merges instead of 50,000."""
    alphabet = data_gym_alphabet()
    order = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    order += [b for b in range(256) if b not in order]
    encoder = {alphabet[b]: rank for rank, b in enumerate(order)}
    merges = [("h", "e"), ("l", "l"), ("he", "ll")]
    for rank, (first, second) in enumerate(merges, start=256):
        encoder[first + second] = rank
    (tmp_path / "vocab.bpe").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    (tmp_path / "encoder.json").write_text(json.dumps(encoder))
    return tmp_path


def test_bpe_tokenizer_from_local_vocabulary_files(monkeypatch, tiny_vocab_dir):
    monkeypatch.setenv("JAXGPT_GPT2_VOCAB_DIR", str(tiny_vocab_dir))
    tokenizer = tokenizer_from_dict(BPETokenizer.gpt2().to_dict())
    assert tokenizer.vocab_size == 256 + 3 + 1  # bytes, merges, <|endoftext|>
    ids = tokenizer.encode("hello<|endoftext|>")
    assert ids.tolist() == [258, tokenizer.encoding.encode_single_token(b"o"), 259]  # "hell" is one merged token
    assert tokenizer.decode(ids) == "hello<|endoftext|>"
    text = "Hëllo, wörld!\n"
    assert tokenizer.decode(tokenizer.encode(text)) == text  # any UTF-8 text round-trips through bytes


def test_bpe_without_network_or_files_says_how_to_supply_them(monkeypatch, tmp_path):
    import tiktoken

    def offline(name):
        raise ConnectionError("no network")

    monkeypatch.delenv("JAXGPT_GPT2_VOCAB_DIR", raising=False)
    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    with pytest.raises(TokenizerError, match="could not fetch GPT-2's BPE vocabulary .* set JAXGPT_GPT2_VOCAB_DIR"):
        BPETokenizer.gpt2()
    with pytest.raises(TokenizerError, match="lacks .*vocab.bpe"):
        BPETokenizer.gpt2(str(tmp_path))
