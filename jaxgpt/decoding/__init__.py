"""Decoding: text from a GPT (sampling with a KV cache) and targets from the encoder-decoder
Transformer (greedy and beam search). Every decoder takes the model and its parameters."""
