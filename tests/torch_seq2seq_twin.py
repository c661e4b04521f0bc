"""The PyTorch side of test_seq2seq_parity.py: the 2017 paper's encoder-decoder from torch.nn's own
post-LN TransformerEncoderLayer and TransformerDecoderLayer, with the paper's embedding scale and
sinusoidal positions written out and the output tied to the target embedding, and jaxgpt's
parameters copied into it. Its own module, imported at first use (torch is slow to import)."""

import math

import numpy as np
import torch
import torch.nn as nn

from jaxgpt.model.config import TransformerConfig


def sinusoids(T: int, C: int) -> torch.Tensor:
    """The paper's PE(pos, 2i) = sin(pos / 10000^(2i/C)), PE(pos, 2i+1) = cos(pos / 10000^(2i/C))."""
    pe = torch.zeros(T, C)
    position = torch.arange(T, dtype=torch.float32)[:, None]
    frequency = 10000.0 ** (-torch.arange(0, C, 2, dtype=torch.float32) / C)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(position * frequency), torch.cos(position * frequency)
    return pe


class TorchTwin(nn.Module):
    def __init__(self, c: TransformerConfig, pad: int):
        super().__init__()
        self.pad = pad
        layer = dict(d_model=c.d_model, nhead=c.n_head, dim_feedforward=c.d_ff, dropout=0.0, batch_first=True)
        self.src_embed = nn.Parameter(torch.zeros(c.src_vocab_size, c.d_model))
        self.tgt_embed = nn.Parameter(torch.zeros(c.tgt_vocab_size, c.d_model))
        self.encoder = nn.ModuleList(nn.TransformerEncoderLayer(**layer) for _ in range(c.n_encoder_layer))
        self.decoder = nn.ModuleList(nn.TransformerDecoderLayer(**layer) for _ in range(c.n_decoder_layer))
        self.scale = math.sqrt(c.d_model)

    def forward(self, src_BxS, tgt_BxT):
        T = tgt_BxT.shape[1]
        pe = sinusoids(max(src_BxS.shape[1], T), self.src_embed.shape[1])
        src_pad_BxS = src_BxS == self.pad
        x = self.src_embed[src_BxS] * self.scale + pe[: src_BxS.shape[1]]
        for layer in self.encoder:
            x = layer(x, src_key_padding_mask=src_pad_BxS)
        y = self.tgt_embed[tgt_BxT] * self.scale + pe[:T]
        causal_TxT = nn.Transformer.generate_square_subsequent_mask(T)
        for layer in self.decoder:
            y = layer(y, x, tgt_mask=causal_TxT, tgt_is_causal=True, memory_key_padding_mask=src_pad_BxS)
        return y @ self.tgt_embed.T


def load_jaxgpt_params(twin: TorchTwin, params) -> None:
    """jaxgpt's kernels are [in, out]: torch's weights are their transposes."""
    t = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))
    dense = lambda linear, p: (linear.weight.copy_(t(p["kernel"]).T), linear.bias.copy_(t(p["bias"])))
    norm = lambda ln, p: (ln.weight.copy_(t(p["scale"])), ln.bias.copy_(t(p["bias"])))

    def attention(mha, kernel_CxK, bias_K, proj):
        mha.in_proj_weight.copy_(t(kernel_CxK).T)
        mha.in_proj_bias.copy_(t(bias_K))
        dense(mha.out_proj, proj)

    with torch.no_grad():
        twin.src_embed.copy_(t(params["src_embed"]["embedding"]))
        twin.tgt_embed.copy_(t(params["tgt_embed"]["embedding"]))
        for stack, prefix in ((twin.encoder, "encoder"), (twin.decoder, "decoder")):
            for i, layer in enumerate(stack):
                p = params[f"{prefix}_{i}"]
                attention(
                    layer.self_attn, p["attn"]["c_attn"]["kernel"], p["attn"]["c_attn"]["bias"], p["attn"]["c_proj"]
                )
                dense(layer.linear1, p["mlp"]["c_fc"])
                dense(layer.linear2, p["mlp"]["c_proj"])
                norm(layer.norm1, p["ln_1"])
                if prefix == "encoder":
                    norm(layer.norm2, p["ln_2"])
                    continue
                cross = p["crossattention"]  # q from the decoder, k and v from the memory
                kernel = np.concatenate([cross["c_q"]["kernel"], cross["c_kv"]["kernel"]], axis=1)
                bias = np.concatenate([cross["c_q"]["bias"], cross["c_kv"]["bias"]])
                attention(layer.multihead_attn, kernel, bias, cross["c_proj"])
                norm(layer.norm2, p["ln_cross_attn"])
                norm(layer.norm3, p["ln_2"])
