"""The matrix multiplies of one shakespeare-char-cpu train step alone (4 layers, 128 wide, batch 12 x 64:
forward, the input and weight gradients, attention's four batched products, the tied head), through
XLA:CPU, on random data: the least time any XLA step of this model can take.
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295 python matmul_floor.py"""

import time

import jax
import jax.numpy as jnp

N, C, F, V, L, BH, T, D = 768, 128, 512, 65, 4, 48, 64, 32
keys = iter(jax.random.split(jax.random.key(0), 1000))


def r(*s):
    return jax.random.normal(next(keys), s, jnp.float32)


layers = [
    dict(
        x=r(N, C),
        g3=r(N, 3 * C),
        gC=r(N, C),
        gF=r(N, F),
        Wqkv=r(C, 3 * C),
        Wo=r(C, C),
        W1=r(C, F),
        W2=r(F, C),
        q=r(BH, T, D),
        k=r(BH, T, D),
        att=r(BH, T, T),
    )
    for _ in range(L)
]
head = dict(x=r(N, C), Wv=r(C, V), gl=r(N, V))


def matmuls(layers, head):
    outs = []
    for p in layers:
        x, g3, gC, gF, q, kk, att = p["x"], p["g3"], p["gC"], p["gF"], p["q"], p["k"], p["att"]
        outs += [
            x @ p["Wqkv"],
            jnp.einsum("btd,bsd->bts", q, kk),
            jnp.einsum("bts,bsd->btd", att, q),
            x @ p["Wo"],
            x @ p["W1"],
            gF @ p["W2"],
            g3 @ p["Wqkv"].T,
            x.T @ g3,
            gC @ p["Wo"].T,
            x.T @ gC,
            gF @ p["W1"].T,
            x.T @ gF,
            gC @ p["W2"].T,
            gF.T @ gC,
            jnp.einsum("btd,bsd->bts", q, kk),
            jnp.einsum("bts,btd->bsd", att, q),
            jnp.einsum("bts,bsd->btd", att, kk),
            jnp.einsum("bts,btd->bsd", att, q),
        ]
    outs += [head["x"] @ head["Wv"], head["gl"] @ head["Wv"].T, head["x"].T @ head["gl"]]
    return outs


f = jax.jit(matmuls)
jax.block_until_ready(f(layers, head))
best = 1e9
for _ in range(20):
    s = time.perf_counter()
    for _ in range(10):
        out = f(layers, head)
    jax.block_until_ready(out)
    best = min(best, (time.perf_counter() - s) / 10)
flops = L * 2 * (N * C * 3 * C + N * C * C + N * C * F + N * F * C) * 3 + L * 2 * BH * T * T * D * 6 + 2 * N * C * V * 3
print(f"matmuls only: {best * 1e3:.2f} ms, {flops / 1e9:.2f} GFLOP, {flops / best / 1e9:.1f} GFLOP/s")
