"""Sum a jax.profiler perfetto trace's GPU kernel time by name: python3 top_kernels.py PROFILE_DIR STEPS"""

import collections
import glob
import gzip
import json
import re
import sys

path = sorted(glob.glob(f"{sys.argv[1]}/**/perfetto_trace.json.gz", recursive=True))[-1]
DEV = sys.argv[3] if len(sys.argv) > 3 else "GPU"
steps = int(sys.argv[2])
trace = json.load(gzip.open(path))
events = trace["traceEvents"] if isinstance(trace, dict) else trace
pname = {e["pid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "process_name"}
tname = {
    (e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"
}
print("processes:", sorted(set(pname.values()))[:20])
gpu = [e for e in events if e.get("ph") == "X" and DEV in pname.get(e["pid"], "") and "dur" in e]
threads = collections.Counter(tname.get((e["pid"], e["tid"]), "?") for e in gpu)
print("gpu threads:", threads.most_common(10))
kern = [e for e in gpu if "Stream" in tname.get((e["pid"], e["tid"]), "")] or gpu
by = collections.defaultdict(lambda: [0.0, 0])
for e in kern:
    by[e["name"]][0] += e["dur"]
    by[e["name"]][1] += 1
total = sum(v[0] for v in by.values())
print(f"kernels: {sum(v[1] for v in by.values()) / steps:.0f} per step, {total / steps / 1000:.2f} ms per step busy")
cat = collections.defaultdict(float)
for n, (d, c) in by.items():
    k = (
        "gemm"
        if re.search(r"gemm|cublas|cutlass|matmul|sm90_xmma|nvjet", n, re.I)
        else "attention"
        if re.search(r"cudnn|fmha|flash|attn", n, re.I)
        else "copy/memset"
        if re.search(r"memcpy|memset|copy", n, re.I)
        else "elementwise/reduce"
    )
    cat[k] += d
for k, d in sorted(cat.items(), key=lambda x: -x[1]):
    print(f"  {k:20s} {d / steps / 1000:7.2f} ms/step")
for n, (d, c) in sorted(by.items(), key=lambda x: -x[1][0])[:45]:
    print(f"{d / steps / 1000:8.3f} ms/step {c / steps:6.1f}x  {n[:110]}")
