"""The triage model: one estimator to its callers, in the manner of scikit-learn.

One TF-IDF vocabulary of words (1-2 grams) and characters (2-5 grams within words) feeds two
logistic regressions, one for kind and one for theme. Character n-grams carry typos, "mold"
and "plz" to the same place as the correctly spelt words; logistic regression gives usable
probabilities and trains in seconds (the choice is measured in README's figures). Offering the
choice to complain uses a threshold on P(complaint) chosen on out-of-fold predictions for recall,
and stored with the model, or fires on the explicit-complaint and escalation cues.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import FeatureUnion

from classifier.cues import CueRules
from classifier.hints import with_hints
from classifier.suggestion import Suggestion
from classifier.text import normalise

FORMAT = 1
COMPLAINT = "complaint"


def _vectoriser(max_word_features: int, max_char_features: int) -> FeatureUnion:
    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=max_word_features,
                                  token_pattern=r"(?u)\b\w+\b", dtype=np.float32)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                  max_features=max_char_features, dtype=np.float32)),
    ])


def _head(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)


class NotFitted(RuntimeError):
    pass


@dataclass
class TriageModel:
    """fit(texts, kinds, themes, groups) then suggest(text); nothing is learned before fit."""

    kind_c: float = 10.0
    theme_c: float = 10.0
    target_recall: float = 0.98
    folds: int = 5
    max_word_features: int = 30000
    max_char_features: int = 60000
    version: str = "unfitted"
    data_hash: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def fit(self, texts: Sequence[str], kinds: Sequence[str], themes: Sequence[str],
            groups: Sequence[str] | None = None) -> TriageModel:
        clean = [normalise(t) for t in texts]
        groups = list(groups) if groups is not None else list(range(len(clean)))
        hinted = [with_hints(t) for t in clean]
        self.threshold_ = self._choose_threshold(hinted, list(kinds), groups)
        self.vectoriser_ = _vectoriser(self.max_word_features, self.max_char_features)
        features = self.vectoriser_.fit_transform(hinted)
        self.kind_model_ = _head(self.kind_c).fit(features, kinds)
        self.theme_model_ = _head(self.theme_c).fit(features, themes)
        return self

    def _choose_threshold(self, texts: list[str], kinds: list[str], groups: list[Any]) -> float:
        """The highest P(complaint) threshold whose out-of-fold complaint recall meets the target."""
        scores = np.zeros(len(texts))
        for train, test in GroupKFold(n_splits=self.folds).split(texts, kinds, groups):
            vectoriser = _vectoriser(self.max_word_features, self.max_char_features)
            model = _head(self.kind_c).fit(vectoriser.fit_transform([texts[i] for i in train]), [kinds[i] for i in train])
            column = list(model.classes_).index(COMPLAINT)
            scores[test] = model.predict_proba(vectoriser.transform([texts[i] for i in test]))[:, column]
        complaint_scores = np.sort(scores[np.array(kinds) == COMPLAINT])
        allowed_misses = int(np.floor(len(complaint_scores) * (1 - self.target_recall)))
        threshold = float(complaint_scores[allowed_misses]) if len(complaint_scores) else 0.5
        non_complaint = scores[np.array(kinds) != COMPLAINT]
        self.figures["cv_complaint_recall_at_offer"] = float(np.mean(complaint_scores >= threshold))
        self.figures["cv_offer_rate_non_complaint"] = float(np.mean(non_complaint >= threshold))
        return round(threshold, 6)

    def _check_fitted(self) -> None:
        if not hasattr(self, "kind_model_"):
            raise NotFitted("the model has not been trained: run `triage train`")

    @property
    def threshold(self) -> float:
        self._check_fitted()
        return self.threshold_

    def suggest(self, text: str) -> Suggestion:
        return self.suggest_many([text])[0]

    def suggest_many(self, texts: Sequence[str]) -> list[Suggestion]:
        """Suggestions for many messages at once (one matrix product for the lot)."""
        self._check_fitted()
        clean = [normalise(t) for t in texts]
        features = self.vectoriser_.transform([with_hints(t) for t in clean])
        kind_p = self.kind_model_.predict_proba(features)
        theme_p = self.theme_model_.predict_proba(features)
        kinds, themes = list(self.kind_model_.classes_), list(self.theme_model_.classes_)
        rules = _rules()
        made = []
        for i, text in enumerate(clean):
            flags = rules.flags(text)
            kind_scores = {k: round(float(p), 4) for k, p in zip(kinds, kind_p[i])}
            theme_scores = {t: round(float(p), 4) for t, p in zip(themes, theme_p[i])}
            offer = kind_scores.get(COMPLAINT, 0.0) >= self.threshold_ or flags.explicit_complaint or flags.escalation
            made.append(Suggestion(
                kind=kinds[int(np.argmax(kind_p[i]))], kind_scores=kind_scores,
                theme=themes[int(np.argmax(theme_p[i]))], theme_scores=theme_scores,
                offer_choice=bool(offer), flags=flags, model_version=self.version,
            ))
        return made

    # Saving and loading -------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A skops file whose bytes depend only on the model: zip entry times are fixed."""
        self._check_fitted()
        state = {
            "format": FORMAT, "version": self.version, "data_hash": self.data_hash, "threshold": self.threshold_,
            "figures": self.figures, "params": {"kind_c": self.kind_c, "theme_c": self.theme_c,
                                                "target_recall": self.target_recall, "folds": self.folds,
                                                "max_word_features": self.max_word_features,
                                                "max_char_features": self.max_char_features},
            "vectoriser": self.vectoriser_, "kind_model": self.kind_model_, "theme_model": self.theme_model_,
        }
        return _fixed_zip_times(sio.dumps(state))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(self.to_bytes())
        partial.replace(path)

    @classmethod
    def from_bytes(cls, data: bytes) -> TriageModel:
        """Load without pickle: skops refuses any type outside scikit-learn's, numpy's and scipy's own."""
        untrusted = sio.get_untrusted_types(data=data)
        unexpected = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if unexpected:
            raise ValueError(f"model file holds types that are not trusted: {unexpected}")
        state = sio.loads(data, trusted=untrusted)
        if state.get("format") != FORMAT:
            raise ValueError(f"model file format {state.get('format')} is not {FORMAT}: run `triage train`")
        model = cls(**state["params"], version=state["version"], data_hash=state["data_hash"],
                    figures=dict(state["figures"]))
        model.vectoriser_, model.kind_model_, model.theme_model_ = state["vectoriser"], state["kind_model"], state["theme_model"]
        model.threshold_ = float(state["threshold"])
        return model

    @classmethod
    def load(cls, path: Path) -> TriageModel:
        return cls.from_bytes(path.read_bytes())


_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


@lru_cache(maxsize=1)
def _rules() -> CueRules:
    return CueRules()


def _fixed_zip_times(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
