"""Decoding: text from a GPT (sampling with a KV cache), targets from the encoder-decoder
Transformer (greedy and beam search) and from a GPT after prompts of different lengths (greedy).
Every decoder takes the model and its parameters."""
