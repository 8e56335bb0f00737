"""Write the lists of public pages behind real/ and realtest/ into SOURCES.md.

Every real resident's message names the page it came from; SOURCES.md lists each page once,
under the set it went into, between the markers below, so the list cannot fall out of step
with the data (tests/test_training_data.py checks it). Ombudsman decisions are listed by case
number, other pages by address. Run: python training_data/sources.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
SOURCES = HERE / "SOURCES.md"
BEGIN = "<!-- pages: written by sources.py -->"
END = "<!-- end of pages -->"
SETS = (("real", "Real residents' messages used for training (`real/`)"),
        ("realtest", "Real-text test set, never trained on (`realtest/`)"))


def page_name(source: str) -> str:
    """The case number of an Ombudsman decision (several hosts serve the same one), else the address."""
    case = re.search(r"(?<!\d)(\d{9})(?!\d)", source)
    if case and ("ombudsman" in source or "civiccomputing" in source or "lgo.org.uk" in source):
        return f"Housing or Local Government Ombudsman case {case.group(1)}"
    return source.strip()


def pages(folder: str) -> dict[str, int]:
    """Each page and how many messages were written from it."""
    counts: dict[str, int] = {}
    for path in sorted((HERE / folder).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                name = page_name(json.loads(line)["source"])
                counts[name] = counts.get(name, 0) + 1
    return counts


def section() -> str:
    lines = [BEGIN]
    for folder, title in SETS:
        found = pages(folder)
        lines += ["", f"### {title}: {len(found)} pages, {sum(found.values())} messages", ""]
        lines += [f"- {name} ({n})" for name, n in sorted(found.items())]
    return "\n".join(lines + ["", END])


def main() -> None:
    text = SOURCES.read_text(encoding="utf-8")
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + section() + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section() + "\n"
    SOURCES.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
