"""Build train.jsonl and heldout.jsonl from messages/*.txt, and fresh.jsonl from fresh/*.txt.

Each hand-written message is kept as written and joined by variants a real inbox produces:
the same words typed quickly in a chat window, sent from a mail program with a greeting, a
signature and the quoted thread below, or typed with slips. Variants of one message share a
group, and the held-out split is chosen by group, so no held-out message has a sibling in
training: the held-out figures measure generalisation to new messages, not to new typos.

fresh/ holds messages written after the model was first built and never used to tune it; each
file becomes a JSON Lines file of its own name, evaluated as written, without variants.

Deterministic: the same sources always give byte-identical files. Run: python training_data/build.py
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).parent
KINDS = {"complaint", "service_request", "enquiry", "compliment", "feedback"}
THEMES = {"repairs", "damp_mould", "asb", "tenancy", "rent", "allocations", "communal", "leasehold",
          "staff_conduct", "complaint_handling", "other"}
HELDOUT_PERCENT = 15


@dataclass(frozen=True)
class Example:
    text: str
    kind: str
    theme: str
    vulnerable: bool
    hazard: str
    channel: str
    group: str
    variant: str

    def row(self) -> dict[str, object]:
        return {"text": self.text, "kind": self.kind, "theme": self.theme, "vulnerable": self.vulnerable,
                "hazard": self.hazard, "channel": self.channel, "group": self.group, "variant": self.variant}


def parse(path: Path) -> list[Example]:
    kind = theme = None
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            _, kind, theme = line.split()
            if kind not in KINDS or theme not in THEMES:
                raise SystemExit(f"{path.name}:{number}: unknown kind or theme in {line!r}")
            continue
        if kind is None or theme is None:
            raise SystemExit(f"{path.name}:{number}: message before any '@ kind theme' line")
        tags: list[str] = []
        if line.startswith("["):
            closing = line.index("]")
            tags, line = line[1:closing].split(), line[closing + 1:].strip()
        text = line.replace("\\n", "\n")
        this_theme = next((t[2:] for t in tags if t.startswith("t=")), theme)
        if this_theme not in THEMES:
            raise SystemExit(f"{path.name}:{number}: unknown theme {this_theme}")
        hazard = "emergency" if "he" in tags else "significant" if "hs" in tags else "none"
        channel = "email" if "em" in tags else "chat" if "ch" in tags else ("email" if "\n" in text or len(text) > 220 else "chat")
        group = hashlib.sha1(text.encode()).hexdigest()[:12]
        found.append(Example(text, kind, this_theme, "v" in tags, hazard, channel, group, "original"))
    return found


GREETINGS = ["Hello,", "Hi,", "Dear Sir/Madam,", "Good morning,", "Hi there,", "Dear Housing Team,", "To whom it may concern,",
             "Good afternoon,", "Dear Repairs,", "Hiya,"]
SIGNOFFS = ["Kind regards", "Thanks", "Regards", "Many thanks", "Yours faithfully", "Best wishes", "Thank you", "Cheers"]
NAMES = ["Sarah Jones", "M. Ahmed", "Tom", "Kelly Wright", "J. Kowalski", "Ade", "Mrs D. Hughes", "Liam O'Brien",
         "Nadia", "Gary Smith", "Sunita Patel", "Anne-Marie"]
ADDRESSES = ["Flat 4, Carlton House", "12 Meadow Way", "27 Station Road", "Flat 11b, Tower View", "3 The Crescent"]
SIGNATURES = ["Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android",
              "This email and any attachments are confidential and intended solely for the addressee.",
              "Sent from Mail for Windows"]
QUOTED = [
    "On {date}, Housing Services <housing@example.org> wrote:\n> Thank you for contacting us. Your message has been received\n> and will be passed to the relevant team.",
    "-----Original Message-----\nFrom: Customer Services <customer.services@example.org>\nSent: {date}\nSubject: Your enquiry\n\nThank you for your email. We aim to respond within 10 working days.",
    "> On {date} Repairs Team wrote:\n> Your repair has been logged. Please keep this email for your records.",
]
DATES = ["Mon, 3 Nov 2025 at 10:02", "12 September 2025 14:31", "Tue, 7 Oct 2025 at 09:15", "Friday, 20 June 2025 16:40"]
CHAT_SWAPS = [(r"\byou\b", "u"), (r"\bplease\b", "pls"), (r"\bthanks\b", "thx"), (r"\bbecause\b", "cos"),
              (r"\bare\b", "r"), (r"\bI am\b", "im"), (r"\bI'm\b", "im"), (r"\bdon't\b", "dont"), (r"\bcan't\b", "cant")]
MISSPELLINGS = {"received": "recieved", "definitely": "definately", "mould": "mold", "accommodation": "accomodation",
                "which": "wich", "separate": "seperate", "until": "untill", "ceiling": "cieling", "appointment": "appointmnet",
                "weeks": "weks", "repair": "repiar", "bathroom": "bathrom", "heating": "heatting", "because": "becuase",
                "radiator": "raditor", "neighbour": "neighbor", "nobody": "no body", "tomorrow": "tommorow"}


def body_of(text: str) -> str:
    """Strip a greeting and sign-off written into the original, so variants can add their own."""
    lines = [ln for ln in text.split("\n")]
    while lines and (not lines[0].strip() or lines[0].rstrip().endswith(",") and len(lines[0]) < 40):
        lines.pop(0)
    for i, ln in enumerate(lines):
        if ln.strip().rstrip(",") in SIGNOFFS + ["Yours sincerely", "Thank you", "Regards", "Kind regards", "Thanks"]:
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def as_chat(example: Example, rng: random.Random) -> Example:
    text = " ".join(body_of(example.text).split())
    text = text.lower()
    for pattern, short in CHAT_SWAPS:
        if rng.random() < 0.5:
            text = re.sub(pattern, short, text, flags=re.I)
    if rng.random() < 0.6:
        text = text.replace(",", "").replace("'", "")
    if rng.random() < 0.5:
        text = text.rstrip(".")
    return replace(example, text=text, channel="chat", variant="chat")


def as_email(example: Example, rng: random.Random) -> Example:
    parts = [rng.choice(GREETINGS), "", body_of(example.text), "", rng.choice(SIGNOFFS) + ",", rng.choice(NAMES)]
    if rng.random() < 0.4:
        parts.append(rng.choice(ADDRESSES))
    if rng.random() < 0.35:
        parts += ["", rng.choice(SIGNATURES)]
    if rng.random() < 0.4:
        parts += ["", rng.choice(QUOTED).format(date=rng.choice(DATES))]
    return replace(example, text="\n".join(parts), channel="email", variant="email")


def with_slips(example: Example, rng: random.Random) -> Example:
    words = example.text.split(" ")
    for i, word in enumerate(words):
        bare = word.strip(".,!?").lower()
        if bare in MISSPELLINGS and rng.random() < 0.7:
            words[i] = word.lower().replace(bare, MISSPELLINGS[bare])
        elif len(word) > 5 and word.isalpha() and rng.random() < 0.06:
            j = rng.randrange(1, len(word) - 2)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    text = " ".join(words)
    if rng.random() < 0.3:
        text = text.replace(". ", " ").replace("I ", "i ")
    return replace(example, text=text, variant="slips")


def variants(example: Example) -> list[Example]:
    rng = random.Random(int(example.group, 16))
    made = [example, with_slips(example, rng)]
    made.append(as_email(example, rng) if example.channel == "chat" else as_chat(example, rng))
    if len(example.text) < 300:
        made.append(as_email(with_slips(example, rng), rng) if rng.random() < 0.5 else as_chat(with_slips(example, rng), rng))
    unique: dict[str, Example] = {}
    for item in made:
        unique.setdefault(item.text, item)
    return list(unique.values())


def is_heldout(group: str) -> bool:
    return int(group, 16) % 100 < HELDOUT_PERCENT


def build(source: Path = HERE / "messages") -> tuple[list[Example], list[Example]]:
    originals = [e for path in sorted(source.glob("*.txt")) for e in parse(path)]
    groups = [e.group for e in originals]
    if len(groups) != len(set(groups)):
        raise SystemExit("the same message is written twice in messages/")
    train, heldout = [], []
    for example in originals:
        (heldout if is_heldout(example.group) else train).extend(variants(example))
    return train, heldout


def write(examples: list[Example], path: Path) -> None:
    path.write_text("".join(json.dumps(e.row(), ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")


def main() -> None:
    train, heldout = build()
    write(train, HERE / "train.jsonl")
    write(heldout, HERE / "heldout.jsonl")
    fresh = {path.stem: parse(path) for path in sorted((HERE / "fresh").glob("*.txt"))}
    for name, examples in fresh.items():  # one file each: each was written at its own time, for its own test
        write(examples, HERE / f"{name}.jsonl")
    print(json.dumps({"train": len(train), "heldout": len(heldout), **{n: len(e) for n, e in fresh.items()},
                      "originals": sum(e.variant == "original" for e in train + heldout)}), file=sys.stderr)


if __name__ == "__main__":
    main()
