"""How long and how hard to read every resident letter is, in every form it goes out in.

Renders each letter with sample values (tests/letter_samples.py) and reports, for the letter's
own words (without the Ombudsman's paragraph and the signature every letter shares), the words,
the sentences and the Flesch-Kincaid grade (textstat). Targets: grade 5 or under for every body,
120 words or under for the choice letter. Prints one JSON object last.
Usage: python bench/letters.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import textstat  # noqa: E402

from bot.settings import Settings  # noqa: E402
from tests.letter_samples import samples  # noqa: E402
from workflow.letters import Letters  # noqa: E402

GRADE = 5.0
CHOICE_WORDS = 120


def measure() -> dict[str, object]:
    letters = Letters(Settings(_env_file=None).letterhead())
    rows = []
    for sample in samples(letters):
        rows.append({"letter": sample.letter, "form": sample.form, "words": textstat.lexicon_count(sample.body),
                     "sentences": textstat.sentence_count(sample.body),
                     "grade": textstat.flesch_kincaid_grade(sample.body),
                     "letter_words": textstat.lexicon_count(sample.text)})
    over_grade = [f"{r['letter']} ({r['form']}): {r['grade']}" for r in rows if r["grade"] > GRADE]
    long_choice = [f"{r['form']}: {r['words']}" for r in rows if r["letter"] == "choice" and r["words"] > CHOICE_WORDS]
    return {"letters": rows, "highest_grade": max(r["grade"] for r in rows),
            "choice_words_most": max(r["words"] for r in rows if r["letter"] == "choice"),
            "over_grade": over_grade, "choice_over_words": long_choice,
            "targets": {"grade": GRADE, "choice_words": CHOICE_WORDS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    result = measure()
    if not parser.parse_args().json:
        for row in result["letters"]:  # type: ignore[union-attr]
            print(f"{row['letter']:22} {row['form']:38} {row['words']:4} words  grade {row['grade']:4}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
