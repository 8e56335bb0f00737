"""The triage model: one estimator to its callers, in the manner of scikit-learn.

One TF-IDF vocabulary of words (1-2 grams) and characters (2-5 grams within words), joined by a
frozen pretrained sentence embedding (classifier/encoder.py), feeds one logistic regression per
head: kind, theme, and the learned halves of the vulnerable and hazard flags. The embedding
carries what a message means in words our data never used; TF-IDF carries the housing
vocabulary and the marker words of classifier/hints.py. Character n-grams carry typos, "mold"
and "plz" to the same place as the correctly spelt words; logistic regression gives usable
probabilities and trains in seconds (the choice is measured in README's figures). Offering the
choice to complain uses a threshold on P(complaint) chosen on out-of-fold predictions for recall,
and stored with the model, or fires on the explicit-complaint and escalation cues. Probabilities
are calibrated by temperature scaling on out-of-fold scores (one number per head, fitted for the
lowest log loss), which costs nothing at prediction time.

The theme is the one figure more real data stopped moving, and a linear head is the reason: a
theme is often a small region of meaning (a lift, a parking bay, a section 20 notice) that no
straight line through the embedding separates from its neighbours. So the theme's probabilities
are blended with a vote of the training messages nearest in meaning (theme_neighbours of them,
each weighted by how close it is), chosen by grouped cross-validation on the real training
messages (bench/theme_vote.py; README). The model file therefore holds each training message's
embedding at half precision (3.0 MB for 3,909), which is why a model trained on advisors'
corrections is personal data like the database.
"""

from __future__ import annotations

import copy
import io
import json
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import sklearn.utils
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import FeatureUnion

from classifier import encoder as encoders
from classifier.cues import CueRules
from classifier.encoder import Encoder, EncoderMismatch
from classifier.hints import with_hints
from classifier.suggestion import Flags, Suggestion
from classifier.text import normalise


def _import_skops() -> Any:
    """skops.io, imported without its list of every scikit-learn estimator.

    skops builds that list when it is imported, as the types it trusts by default, by importing
    every module of scikit-learn (and pytest, through sklearn.utils._testing): 12 MB of a
    running bot's memory for a list a triage model never consults, since every load here passes
    its own exact allow-list (ALLOWED_TYPES). For the import alone, the list is the estimators a
    triage model is made of; scikit-learn's own is put back at once."""
    listed = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda type_filter=None: [  # type: ignore[assignment]
        (kind.__name__, kind) for kind in (FeatureUnion, LogisticRegression, TfidfTransformer, TfidfVectorizer)]
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = listed
    return skops.io


sio = _import_skops()
Progress = Callable[[str, float], None]
FORMAT = 4  # 3: the sentence embedding joined the features, and the file names its encoder; 4: the theme's neighbours
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


class _Part:
    """One TF-IDF part of the vocabulary (words, or characters within words) as prediction needs it.

    Character n-grams within words are made one word at a time, so each word's vocabulary indices
    are kept once made: most words of a message have been seen before, and looking up each of a
    message's ~500 n-grams was most of the time spent classifying it.
    """

    WORDS_KEPT = 20_000  # about 5 MB; the store starts again when full

    def __init__(self, vectoriser: TfidfVectorizer, offset: int) -> None:
        if not (vectoriser.sublinear_tf and vectoriser.use_idf and vectoriser.norm == "l2"):
            raise ValueError("the fast path assumes sublinear tf, idf and l2 norms, as _vectoriser makes")
        self.analyse = vectoriser.build_analyzer()
        self.preprocess = vectoriser.build_preprocessor()
        self.vocabulary: dict[str, int] = vectoriser.vocabulary_
        self.idf = vectoriser.idf_.astype(np.float64)
        self.offset = offset
        self.by_word: dict[str, list[int]] | None = {} if vectoriser.analyzer == "char_wb" else None

    def _indices(self, text: str) -> list[int]:
        """Vocabulary indices of the text's known terms, repeated as often as the term occurs."""
        vocabulary = self.vocabulary
        if self.by_word is None:
            return [index for term in self.analyse(text) if (index := vocabulary.get(term)) is not None]
        found: list[int] = []
        for word in self.preprocess(text).split():  # how char_wb splits: on any run of whitespace
            known = self.by_word.get(word)
            if known is None:
                known = [index for term in self.analyse(word) if (index := vocabulary.get(term)) is not None]
                if len(self.by_word) >= self.WORDS_KEPT:
                    self.by_word.clear()
                self.by_word[word] = known
            found.extend(known)
        return found

    def weights(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature columns, l2-normalised sublinear tf-idf weights) of the text in this part."""
        index, counts = np.unique(np.array(self._indices(text), dtype=np.int64), return_counts=True)
        if not len(index):
            return index, np.zeros(0)
        weight = (1.0 + np.log(counts)) * self.idf[index]
        weight /= np.sqrt(weight @ weight)
        return index + self.offset, weight


@dataclass
class TriageModel:
    """fit(texts, kinds, themes, groups) then suggest(text); nothing is learned before fit."""

    kind_c: float = 10.0
    theme_c: float = 10.0
    flag_c: float = 4.0
    flag_precision: float = 0.85  # the learned flags fire only where their out-of-fold precision reaches this
    target_recall: float = 0.98
    folds: int = 5
    max_word_features: int = 30000
    max_char_features: int = 60000
    embedding_weight: float = 1.0
    theme_neighbours: int = 20
    neighbour_sharpness: float = 20.0  # a neighbour's vote is exp(sharpness * (cosine - 1))
    neighbour_weight: float = 0.4  # the vote's share of the theme's probabilities
    version: str = "unfitted"
    data_hash: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    encoder: Encoder | None = field(default=None, repr=False, compare=False)  # None: the pinned, shipped one

    def fit(self, texts: Sequence[str], kinds: Sequence[str], themes: Sequence[str],
            groups: Sequence[str] | None = None, threshold_mask: Sequence[bool] | None = None,
            vulnerable: Sequence[bool | None] | None = None, hazards: Sequence[str | None] | None = None,
            progress: Progress | None = None) -> TriageModel:
        """threshold_mask marks the examples whose out-of-fold scores choose the thresholds (real
        residents' messages, not the hardest hand-written cases); all of them when None. The
        vulnerable and hazard labels, where given, teach the learned half of those flags.
        progress, when given, hears what is being done and how far it has got (fraction 0-1)."""
        say = progress or (lambda step, fraction: None)
        self._parts_cache = self._stacked_cache = self._memory_cache = None  # made again from what this fit learns
        clean = [normalise(t) for t in texts]
        hinted = [with_hints(t) for t in clean]
        embedded = np.zeros((len(clean), encoders.DIMENSIONS), dtype=np.float32)
        for start in range(0, len(clean), 256):  # about three seconds a slice on one core
            say(f"reading {len(clean)} messages with the sentence encoder", start / len(clean) * 0.45)
            embedded[start:start + 256] = self._encoder().encode(clean[start:start + 256])
        memory = embedded.astype(np.float16)  # what the model keeps, so out-of-fold votes use the same numbers
        groups = list(groups) if groups is not None else list(range(len(clean)))
        folds = list(GroupKFold(n_splits=self.folds).split(clean, groups=groups))
        theme_classes, theme_index = np.unique(np.asarray(themes), return_inverse=True)  # as LogisticRegression orders them
        votes = np.zeros((len(clean), len(theme_classes)))
        for train, test in folds:
            votes[test] = self._votes(embedded[test], memory[train], theme_index[train], len(theme_classes))
        embedded *= self.embedding_weight
        n = len(clean)
        mask = np.ones(n, bool) if threshold_mask is None else np.asarray(threshold_mask, bool)
        heads = {"kind": (list(kinds), self.kind_c), "theme": (list(themes), self.theme_c)}
        if vulnerable is not None and len({bool(v) for v in vulnerable if v is not None}) == 2:
            heads["vulnerable"] = ([None if v is None else bool(v) for v in vulnerable], self.flag_c)
        if hazards is not None and {"none", "emergency"} <= {h for h in hazards if h is not None}:
            heads["hazard"] = (list(hazards), self.flag_c)  # a head is learned only from labels that vary
        logits = self._out_of_fold(hinted, embedded, heads, folds, say)
        say("fitting the final model", 0.9)
        self.vectoriser_ = _vectoriser(self.max_word_features, self.max_char_features)
        features = sparse.hstack([self.vectoriser_.fit_transform(hinted), embedded], format="csr")
        self.heads_ = {}
        for name, (labels, c) in heads.items():
            known = np.array([label is not None for label in labels])
            self.heads_[name] = _head(c).fit(features[known], [label for label in labels if label is not None])
        self.encoder_identity_ = self._encoder().identity
        self.memory_, self.memory_themes_ = memory, theme_index
        kinds_ = heads["kind"][0]
        self.kind_temperature_ = _fit_temperature(logits["kind"], _indices(kinds_, self.heads_["kind"].classes_))
        self.theme_temperature_ = _fit_temperature(logits["theme"], theme_index, then=lambda p: self._blend(p, votes))
        blended = self._blend(_softmax(logits["theme"] / self.theme_temperature_), votes)
        self.figures["cv_theme_accuracy"] = float(np.mean(blended.argmax(axis=1)[mask] == theme_index[mask]))
        complaint = list(self.heads_["kind"].classes_).index(COMPLAINT)
        scores = _softmax(logits["kind"] / self.kind_temperature_)[:, complaint]
        self.threshold_ = self._choose_threshold(scores[mask], [k for k, m in zip(kinds_, mask) if m])
        self.flag_thresholds_ = self._flag_thresholds(logits, heads, mask)
        return self

    def _flag_thresholds(self, logits: dict[str, np.ndarray], heads: dict[str, tuple[list[Any], float]],
                         mask: np.ndarray) -> dict[str, float]:
        """Where each learned flag may add to the rules: the score at which its out-of-fold
        precision on the masked (real) examples reaches flag_precision."""
        found: dict[str, float] = {}
        if "vulnerable" in heads:
            labels = heads["vulnerable"][0]
            usable = mask & np.array([v is not None for v in labels])
            found["vulnerable"] = _precise_threshold(_softmax(logits["vulnerable"])[usable, 1],
                                                     np.array([bool(v) for v in labels])[usable], self.flag_precision)
        if "hazard" in heads:
            labels = heads["hazard"][0]
            usable = mask & np.array([h is not None for h in labels])
            p = _softmax(logits["hazard"])
            order = list(self.heads_["hazard"].classes_)
            found["hazard"] = _precise_threshold((1 - p[:, order.index("none")])[usable],
                                                 np.array([h not in (None, "none") for h in labels])[usable],
                                                 self.flag_precision)
            found["emergency"] = _precise_threshold(p[usable, order.index("emergency")],
                                                    np.array([h == "emergency" for h in labels])[usable],
                                                    self.flag_precision)
        return found

    @property
    def kind_model_(self) -> LogisticRegression:
        return self.heads_["kind"]

    @property
    def theme_model_(self) -> LogisticRegression:
        return self.heads_["theme"]

    def _encoder(self) -> Encoder:
        if self.encoder is None:
            self.encoder = encoders.shared()
        return self.encoder

    def _votes(self, queries: np.ndarray, memory: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
        """Each query's theme as its nearest remembered messages vote it, as probabilities.

        The embeddings are unit length, so a dot product is the cosine, computed in float64 as the
        linear heads are (float16 turns into float64 exactly). Sorting all the remembered messages
        cost more than the vote itself (0.25 ms a message); only the k nearest are found."""
        k = min(self.theme_neighbours, len(memory))
        remembered = np.asarray(memory, dtype=np.float64)
        votes = np.zeros((len(queries), classes))
        for start in range(0, len(queries), 256):  # a slice at a time: training compares thousands with thousands
            similarity = np.asarray(queries[start:start + 256], dtype=np.float64) @ remembered.T
            nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]  # the k nearest, in no order: a vote needs none
            weight = np.exp(self.neighbour_sharpness * (np.take_along_axis(similarity, nearest, axis=1) - 1.0))
            for row, (near, w) in enumerate(zip(nearest, weight)):
                votes[start + row] = np.bincount(labels[near], weights=w, minlength=classes)
        return votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-300)

    def _blend(self, theme_p: np.ndarray, votes: np.ndarray) -> np.ndarray:
        """The one place the linear head and the vote are put together: fitting, calibrating, suggesting."""
        return (1 - self.neighbour_weight) * theme_p + self.neighbour_weight * votes

    def _memory(self) -> np.ndarray:
        """The remembered embeddings as float64, made once (12 MB for 3,909 messages), not at every message."""
        if getattr(self, "_memory_cache", None) is None:
            self._memory_cache = self.memory_.astype(np.float64)
        return self._memory_cache

    def _out_of_fold(self, texts: list[str], embedded: np.ndarray, heads: dict[str, tuple[list[Any], float]],
                     folds: list[tuple[np.ndarray, np.ndarray]], say: Progress) -> dict[str, np.ndarray]:
        """Scores for each message from models that never saw it (nor its variants), for each head."""
        logits = {name: np.zeros((len(texts), len({x for x in labels if x is not None})))
                  for name, (labels, _) in heads.items()}
        for fold_number, (train, test) in enumerate(folds):
            say(f"checking on held-back messages, fold {fold_number + 1} of {self.folds}",
                0.45 + 0.45 * fold_number / self.folds)
            vectoriser = _vectoriser(self.max_word_features, self.max_char_features)
            train_x = sparse.hstack([vectoriser.fit_transform([texts[i] for i in train]), embedded[train]], format="csr")
            test_x = sparse.hstack([vectoriser.transform([texts[i] for i in test]), embedded[test]], format="csr")
            for name, (labels, c) in heads.items():
                known = [i for i, row in enumerate(train) if labels[row] is not None]
                classes = sorted({x for x in labels if x is not None})
                fold = np.full((len(test), logits[name].shape[1]), -1e3)
                seen = sorted({labels[train[i]] for i in known})
                if len(seen) < 2:  # a fold with one class to learn: it says that class, and nothing else
                    fold[:, [classes.index(label) for label in seen]] = 0.0
                else:
                    model = _head(c).fit(train_x[known], [labels[train[i]] for i in known])
                    fold[:, [classes.index(label) for label in model.classes_]] = _two_columns(
                        model.decision_function(test_x))
                logits[name][test] = fold
        return logits

    def _choose_threshold(self, complaint_scores: np.ndarray, kinds: list[str]) -> float:
        """The highest P(complaint) threshold whose out-of-fold complaint recall meets the target."""
        is_complaint = np.array(kinds) == COMPLAINT
        ordered = np.sort(complaint_scores[is_complaint])
        allowed_misses = int(np.floor(len(ordered) * (1 - self.target_recall)))
        threshold = float(ordered[allowed_misses]) if len(ordered) else 0.5
        self.figures["cv_complaint_recall_at_offer"] = float(np.mean(ordered >= threshold))
        self.figures["cv_offer_rate_non_complaint"] = float(np.mean(complaint_scores[~is_complaint] >= threshold))
        return round(threshold, 6)

    def _check_fitted(self) -> None:
        if not hasattr(self, "heads_"):
            raise NotFitted("the model has not been trained: run `triage train`")

    @property
    def threshold(self) -> float:
        self._check_fitted()
        return self.threshold_

    def suggest(self, text: str) -> Suggestion:
        return self.suggest_many([text])[0]

    def prepare(self) -> None:
        """Build now what the first suggestion would build: the language detector (51 MB held,
        104 MB at the peak of loading it), the cue rules, the encoder's first run. A worker
        calls this once its model is loaded, while it holds no letter: built at the first
        message, those peaks came on top of whatever letters were arriving then."""
        self.suggest("My kitchen tap has been dripping for three days. Please send someone.")

    def suggest_many(self, texts: Sequence[str]) -> list[Suggestion]:
        """Suggestions for many messages: the encoder reads them as one batch, each is scored alone."""
        self._check_fitted()
        clean = [normalise(t) for t in texts]
        embedded = self._encoder().encode(clean)
        logits = self._logits([with_hints(t) for t in clean], embedded)
        kinds, themes = list(self.kind_model_.classes_), list(self.theme_model_.classes_)
        kind_p = _softmax(logits["kind"] / self.kind_temperature_)
        theme_p = self._blend(_softmax(logits["theme"] / self.theme_temperature_),
                              self._votes(embedded, self._memory(), self.memory_themes_, len(themes)))
        rules = _rules()
        made = []
        for i, text in enumerate(clean):
            flags = self._learned_flags(rules.flags(text), {name: row[i] for name, row in logits.items()})
            kind_scores = {k: round(float(p), 4) for k, p in zip(kinds, kind_p[i])}
            theme_scores = {t: round(float(p), 4) for t, p in zip(themes, theme_p[i])}
            offer = kind_scores.get(COMPLAINT, 0.0) >= self.threshold_ or flags.explicit_complaint or flags.escalation
            # Read on English features alone, a message in another language waits for a person; the
            # explicit-complaint and escalation cues are English words, so they still count.
            offer = offer and (flags.language is None or flags.explicit_complaint or flags.escalation)
            made.append(Suggestion(
                kind=kinds[int(np.argmax(kind_p[i]))], kind_scores=kind_scores,
                theme=themes[int(np.argmax(theme_p[i]))], theme_scores=theme_scores,
                offer_choice=bool(offer), flags=flags, model_version=self.version,
            ))
        return made

    def _learned_flags(self, flags: Flags, logits: dict[str, np.ndarray]) -> Flags:
        """The rules' flags, raised (never lowered) where a learned head is sure enough.

        Rules keep the words that raised a flag; a learned flag says so in its cue, with its
        score, so an advisor can see it was read from the meaning rather than one word."""
        cues = dict(flags.cues)
        vulnerable, hazard = flags.vulnerable, flags.hazard
        if "vulnerable" in logits and not vulnerable:
            score = float(_softmax(logits["vulnerable"][None, :])[0, 1])
            if score >= self.flag_thresholds_["vulnerable"]:
                vulnerable = True
                cues["vulnerable"] = [f"read from the message as a whole ({score:.0%})"]
        if "hazard" in logits:
            p = dict(zip(self.heads_["hazard"].classes_, _softmax(logits["hazard"][None, :])[0]))
            urgent, some = p.get("emergency", 0.0), 1 - p.get("none", 1.0)
            if urgent >= self.flag_thresholds_["emergency"] and hazard != "emergency":
                hazard = "emergency"
                cues["emergency"] = [f"read from the message as a whole ({urgent:.0%})"]
            elif some >= self.flag_thresholds_["hazard"] and hazard == "none":
                hazard = "significant"
                cues["significant"] = [f"read from the message as a whole ({some:.0%})"]
        if (vulnerable, hazard) == (flags.vulnerable, flags.hazard):
            return flags
        return replace(flags, vulnerable=vulnerable, hazard=hazard, cues=cues)

    def _logits(self, texts: Sequence[str], embedded: np.ndarray) -> dict[str, np.ndarray]:
        """TF-IDF, the embedding and every linear head computed straight from the fitted parts.

        The same arithmetic as FeatureUnion.transform followed by decision_function (a test holds
        them equal), without scikit-learn's per-call validation, which cost more than the
        arithmetic for one short message. The heads' coefficients are stacked, so each message's
        features are multiplied once for all of them.
        """
        parts = self._parts()
        names, coef, intercept = self._stacked()
        start = coef.shape[1] - embedded.shape[1]  # the embedding's columns come after TF-IDF's
        out = intercept + (embedded.astype(np.float64) * self.embedding_weight) @ coef[:, start:].T
        for row, text in enumerate(texts):
            weighted = [part.weights(text) for part in parts]
            cols = np.concatenate([index for index, _ in weighted])
            if len(cols):
                out[row] += coef[:, cols] @ np.concatenate([weight for _, weight in weighted])
        split, at = {}, 0
        for name in names:
            width = self.heads_[name].coef_.shape[0]
            split[name] = _two_columns(out[:, at] if width == 1 else out[:, at:at + width])
            at += width
        return split

    def _stacked(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every head's coefficients as one matrix, made once (2.7 MB; making it took 0.85 ms a call)."""
        if getattr(self, "_stacked_cache", None) is None:
            names = list(self.heads_)
            self._stacked_cache = (names, np.vstack([self.heads_[name].coef_ for name in names]),
                                   np.concatenate([self.heads_[name].intercept_ for name in names]))
        return self._stacked_cache

    def _parts(self) -> list[_Part]:
        if getattr(self, "_parts_cache", None) is None:
            parts, offset = [], 0
            for _, vectoriser in self.vectoriser_.transformer_list:
                parts.append(_Part(vectoriser, offset))
                offset += len(vectoriser.vocabulary_)
            self._parts_cache = parts
        return self._parts_cache

    # Saving and loading -------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A skops file whose bytes depend only on the model: zip entry times are fixed."""
        self._check_fitted()
        state = {
            "format": FORMAT, "version": self.version, "data_hash": self.data_hash, "threshold": self.threshold_,
            "encoder": self.encoder_identity_,
            "temperatures": [self.kind_temperature_, self.theme_temperature_],
            "figures": self.figures, "params": {"kind_c": self.kind_c, "theme_c": self.theme_c,
                                                "target_recall": self.target_recall, "folds": self.folds,
                                                "max_word_features": self.max_word_features,
                                                "max_char_features": self.max_char_features,
                                                "embedding_weight": self.embedding_weight, "flag_c": self.flag_c,
                                                "flag_precision": self.flag_precision,
                                                "theme_neighbours": self.theme_neighbours,
                                                "neighbour_sharpness": self.neighbour_sharpness,
                                                "neighbour_weight": self.neighbour_weight},
            "heads": self.heads_, "flag_thresholds": self.flag_thresholds_,
            "memory": self.memory_, "memory_themes": self.memory_themes_,
        }
        state["vectoriser"], state["vocabularies"] = _without_vocabularies(self.vectoriser_)
        return _canonical_zip(sio.dumps(state))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(self.to_bytes())
        partial.replace(path)

    @classmethod
    def from_bytes(cls, data: bytes, encoder: Encoder | None = None) -> TriageModel:
        """Load without pickle, and only a file made of the exact types a triage model is made of.

        Every node of the file's schema is checked against ALLOWED_TYPES and ALLOWED_LOADERS before
        skops builds anything: skops's own audit trusts its defaults, and a prefix such as
        "builtins." let a crafted node construct `builtins.eval` with an argument of its choosing.
        Anything that is not a model file (truncated, corrupt, something else) is a ValueError, so
        a caller can retrain or keep its current model instead of crashing."""
        if not data:
            raise ValueError("not a model file: it is empty")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                schema = json.loads(archive.read("schema.json"))
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
            raise ValueError(f"not a model file: {error}") from None
        foreign = _foreign_nodes(schema)
        if foreign:
            raise ValueError(f"model file holds types that are not trusted: {sorted(foreign)}")
        try:
            untrusted = sio.get_untrusted_types(data=data)
        except (TypeError, KeyError) as error:
            raise ValueError(f"not a model file: {error}") from None
        try:
            state = sio.loads(data, trusted=untrusted)
            if not isinstance(state, dict) or state.get("format") != FORMAT:
                found = state.get("format") if isinstance(state, dict) else type(state).__name__
                raise ValueError(f"model file format {found} is not {FORMAT}: run `triage train`")
            model = cls(**state["params"], version=state["version"], data_hash=state["data_hash"],
                        figures=dict(state["figures"]), encoder=encoder)
        except (TypeError, AttributeError, KeyError) as error:  # allowed types put together wrongly
            raise ValueError(f"not a model file this version can read: {error}") from None
        if state["encoder"] != model._encoder().identity:
            raise EncoderMismatch(f"the model was trained with sentence encoder {state['encoder']}, and this one is "
                                  f"{model._encoder().identity}: run `triage train`")
        model.encoder_identity_ = state["encoder"]
        model.vectoriser_ = _with_vocabularies(state["vectoriser"], state["vocabularies"])
        model.heads_ = dict(state["heads"])
        try:
            model.memory_, model.memory_themes_ = _memory_arrays(
                state["memory"], state["memory_themes"], len(model.heads_["theme"].classes_), model)
        except (TypeError, AttributeError, KeyError) as error:
            raise ValueError(f"not a model file this version can read: {error}") from None
        model.flag_thresholds_ = {name: float(value) for name, value in state["flag_thresholds"].items()}
        model.threshold_ = float(state["threshold"])
        model.kind_temperature_, model.theme_temperature_ = (float(t) for t in state["temperatures"])
        return model

    @classmethod
    def load(cls, path: Path, encoder: Encoder | None = None) -> TriageModel:
        return cls.from_bytes(path.read_bytes(), encoder)


# Exactly what `to_bytes` writes: a change to the model that needs another type adds it here.
ALLOWED_TYPES = frozenset({
    "builtins.dict", "builtins.list", "builtins.str", "builtins.tuple", "builtins.int", "builtins.float",
    "builtins.bool", "builtins.NoneType",
    "numpy.ndarray", "numpy.float32", "numpy.float64", "numpy.int64", "numpy.int32",
    "sklearn.feature_extraction.text.TfidfTransformer", "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression", "sklearn.pipeline.FeatureUnion",
})
ALLOWED_LOADERS = frozenset({"DictNode", "ListNode", "TupleNode", "JsonNode", "TypeNode", "NdArrayNode", "ObjectNode"})


def _foreign_nodes(schema: Any) -> set[str]:
    """Every node in a skops schema whose type or loader is not on the allow-lists, by name."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node or "__loader__" in node:
                name = f"{node.get('__module__')}.{node.get('__class__')}"
                if name not in ALLOWED_TYPES or node.get("__loader__") not in ALLOWED_LOADERS:
                    found.add(f"{name} ({node.get('__loader__')})")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


_current_rules: list[CueRules] = []
_rules_lock = threading.Lock()


def _rules() -> CueRules:
    """The cue rules, built again once spaCy's vocabulary has outgrown them.

    spaCy keeps every word it meets (each reference number, address and typo) for the life of
    the pipeline, so a worker running for months grew without bound: about 2.5 MB per 1,000
    messages full of new words. A fresh pipeline takes 0.3 s to build. A caller that still holds
    the old one finishes with it, since each call takes the rules once and uses only those.
    """
    with _rules_lock:
        if not _current_rules or _current_rules[0].outgrown():
            _current_rules[:] = [CueRules()]
        return _current_rules[0]


def _without_vocabularies(vectoriser: FeatureUnion) -> tuple[FeatureUnion, list[np.ndarray]]:
    """Vocabularies as arrays of terms in column order: skops stores a dict entry by entry, which
    made loading take seconds; one array loads in milliseconds."""
    stripped = copy.deepcopy(vectoriser)
    arrays = []
    for _, part in stripped.transformer_list:
        arrays.append(np.array(sorted(part.vocabulary_, key=part.vocabulary_.__getitem__), dtype=str))
        part.vocabulary_ = {}
    return stripped, arrays


def _with_vocabularies(vectoriser: FeatureUnion, arrays: list[np.ndarray]) -> FeatureUnion:
    for (_, part), terms in zip(vectoriser.transformer_list, arrays, strict=True):
        part.vocabulary_ = {term: index for index, term in enumerate(terms.tolist())}
    return vectoriser


def _memory_arrays(memory: Any, themes: Any, classes: int, model: TriageModel) -> tuple[np.ndarray, np.ndarray]:
    """The theme's remembered embeddings and the vote's settings as a file must hold them, or
    ValueError: a vote is computed from them for every message, so a wrong shape would fail on
    the first one, and a number out of range (an infinite row, a negative weight) would turn
    every theme's probability into nonsense without failing."""
    shaped = (isinstance(memory, np.ndarray) and isinstance(themes, np.ndarray) and memory.dtype == np.float16
              and memory.ndim == 2 and memory.shape[1] == encoders.DIMENSIONS and themes.dtype.kind == "i"
              and themes.shape == (len(memory),) and len(memory) > 0)
    if not (shaped and np.isfinite(memory).all() and 0 <= themes.min() and themes.max() < classes
            and np.allclose(np.linalg.norm(memory.astype(np.float64), axis=1), 1.0, atol=0.01)):
        raise ValueError("not a model file this version can read: its theme memory is malformed")
    settings = (model.theme_neighbours, model.neighbour_sharpness, model.neighbour_weight)
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in settings)
    if not (numbers and isinstance(settings[0], int) and settings[0] >= 1 and 0 <= settings[1] <= 100
            and 0 <= settings[2] <= 1):
        raise ValueError(f"not a model file this version can read: its theme vote's settings {settings} are out of range")
    return memory, themes


def _two_columns(scores: np.ndarray) -> np.ndarray:
    """A binary head's one decision column as two, so every head's scores go through softmax alike."""
    return np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores


def _precise_threshold(scores: np.ndarray, truth: np.ndarray, precision: float) -> float:
    """The lowest score threshold at which what scores above it is right at least `precision` of the
    time (1.0, never firing, when no threshold is): a learned flag adds to the rules only where it
    is trustworthy."""
    order = np.argsort(-scores)
    hits = np.cumsum(truth[order])
    precise = np.nonzero(hits / np.arange(1, len(order) + 1) >= precision)[0]
    if not len(precise) or not truth.any():
        return 1.0
    return round(float(scores[order][precise[-1]]), 6)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _indices(labels: Sequence[str], classes: np.ndarray) -> np.ndarray:
    order = list(classes)
    return np.array([order.index(label) for label in labels])


def _fit_temperature(logits: np.ndarray, truth: np.ndarray,
                     then: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """Temperature scaling: one number that makes out-of-fold probabilities honest (lowest log loss).

    `then` is what is done to the probabilities before anyone sees them (the theme's blend with
    its neighbours' vote): the temperature is fitted for what is shown, since the console shows
    the theme's probability as its confidence and a conversation decides by it."""
    def loss(log_t: float) -> float:
        p = _softmax(logits / np.exp(log_t))
        p = then(p) if then is not None else p
        return float(-np.mean(np.log(p[np.arange(len(truth)), truth] + 1e-12)))

    best = minimize_scalar(loss, bounds=(np.log(0.05), np.log(50.0)), method="bounded")
    return round(float(np.exp(best.x)), 6)


def _canonical_zip(data: bytes) -> bytes:
    """skops names array files and objects after their ids (memory addresses); renumber them in
    schema order and fix every entry's time, so the same model always gives the same bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        schema = json.loads(source.read("schema.json"))
        renames: dict[str, str] = {}
        ids: dict[str, str] = {}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                name = node.get("file")
                if isinstance(name, str) and name in source.namelist():
                    renames.setdefault(name, f"{len(renames):06d}{Path(name).suffix}")
                    node["file"] = renames[name]
                if "__id__" in node:
                    node["__id__"] = int(ids.setdefault(str(node["__id__"]), str(len(ids) + 1)))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        def same_ids_in_strings(node: Any) -> Any:
            """Attributes such as TfidfVectorizer._stop_words_id hold an object id as text."""
            if isinstance(node, dict):
                return {k: same_ids_in_strings(v) for k, v in node.items()}
            if isinstance(node, list):
                return [same_ids_in_strings(v) for v in node]
            return ids.get(node, node) if isinstance(node, str) and node.isdigit() else node

        walk(schema)
        schema = same_ids_in_strings(schema)
        entries = {"schema.json": json.dumps(schema, sort_keys=True).encode()}
        entries |= {new: source.read(old) for old, new in renames.items()}
        missing = set(source.namelist()) - set(renames) - {"schema.json"}
        if missing:
            raise ValueError(f"skops wrote files the schema does not name: {sorted(missing)[:3]}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, entries[name])
    return out.getvalue()
