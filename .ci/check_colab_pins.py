"""Reads pip's installation report (`pip install --dry-run --report FILE`) made in a venv that holds
Colab's pins, and fails if pip would install any pinned package again: an upgrade or a downgrade
of Colab's JAX stack is what loses the TPU or GPU runtime.

Usage: python .ci/check_colab_pins.py REPORT.json .ci/colab-constraints.txt WHAT"""

import json
import re
import sys


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: str) -> dict[str, str]:
    found = {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[normalized(name)] = version
    return found


def main(report_path: str, constraints_path: str, what: str) -> int:
    pinned = pins(constraints_path)
    report = json.load(open(report_path, encoding="utf-8"))
    would_install = {normalized(item["metadata"]["name"]): item["metadata"]["version"] for item in report["install"]}
    changed = {name: version for name, version in would_install.items() if name in pinned}
    added = sorted(f"{name} {version}" for name, version in would_install.items() if name not in pinned)
    if changed:
        for name, version in sorted(changed.items()):
            print(f"check_colab_pins: {what} would replace Colab's {name} {pinned[name]} by {version}")
        return 1
    print(f"check_colab_pins: {what} keeps all {len(pinned)} of Colab's pins; it adds {len(added)}: {', '.join(added)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
