"""Strip outputs, execution counts and volatile metadata from notebooks (in place)."""

from __future__ import annotations

import json
import sys


def strip(path: str) -> bool:
    with open(path) as fh:
        nb = json.load(fh)
    before = json.dumps(nb, sort_keys=True)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        md = cell.get("metadata", {})
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            md.pop(key, None)
    meta = nb.get("metadata", {})
    for key in ("papermill", "widgets"):
        meta.pop(key, None)
    changed = json.dumps(nb, sort_keys=True) != before
    if changed:
        with open(path, "w") as fh:
            json.dump(nb, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
    return changed


if __name__ == "__main__":
    for p in sys.argv[1:]:
        if strip(p):
            print(f"stripped {p}")
