import pytest

from jaxgpt.tokenizer import CharTokenizer, tokenizer_from_dict


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
