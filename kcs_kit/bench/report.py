"""docs/BENCHMARKS.md: each benchmark owns one marked section, rewritten with its figures and command."""

from __future__ import annotations

import os
import platform
import re
from datetime import datetime
from pathlib import Path

from kcs_kit.config import REPO_ROOT

BENCHMARKS_MD = REPO_ROOT / "docs" / "BENCHMARKS.md"
_HEAD = """# Benchmarks

Figures measured by the `kcs bench ...` commands named in each section, on the machine they name.
Targets come from DESIGN.md and the issues; a figure that misses its target says so.
"""


def machine() -> str:
    """One line describing where a figure was measured."""
    import psutil

    mem = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, {datetime.now():%Y-%m-%d}")


def update_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> Path:
    """Replace (or append) the section between ``<!-- bench:name -->`` markers, atomically."""
    text = path.read_text(encoding="utf-8") if path.exists() else _HEAD
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
