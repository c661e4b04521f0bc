"""The same matrix multiplies as matmul_floor.py, in PyTorch on 2 threads (eager, no autograd)."""

import time

import torch

torch.set_num_threads(2)
N, C, F, V, L, BH, T, D = 768, 128, 512, 65, 4, 48, 64, 32
r = lambda *s: torch.randn(*s)
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


def matmuls():
    outs = []
    for p in layers:
        x, g3, gC, gF, q, kk, att = p["x"], p["g3"], p["gC"], p["gF"], p["q"], p["k"], p["att"]
        outs += [
            x @ p["Wqkv"],
            q @ kk.transpose(1, 2),
            att @ q,
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
            q @ kk.transpose(1, 2),
            att.transpose(1, 2) @ q,
            att @ kk,
            att.transpose(1, 2) @ q,
        ]
    outs += [head["x"] @ head["Wv"], head["gl"] @ head["Wv"].T, head["x"].T @ head["gl"]]
    return outs


best = 1e9
with torch.no_grad():
    for _ in range(20):
        s = time.perf_counter()
        for _ in range(10):
            matmuls()
        best = min(best, (time.perf_counter() - s) / 10)
print(f"torch matmuls only: {best * 1e3:.2f} ms")
