"""The model: the Flax modules of GPT and of the encoder-decoder Transformer, one concept a file,
their configs, GPT-2's weights, and `reference.py`, the same model in NumPy."""
