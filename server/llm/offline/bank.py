"""The question bank's shape and rules: load and validate its TOML files, select an
interview's questions, and where interviewers get them from (``QuestionSource``)."""

from __future__ import annotations

import random
import re
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from server.llm.base import InterviewBrief, QuestionRubric
from server.llm.offline import focus as focus_terms

BANK_DIR = Path(__file__).resolve().parents[1] / "bank"
TRACKS = ("backend", "frontend", "data_ml", "product", "behavioral")
LEVELS = ("junior", "mid", "senior")
BANK_VERSION = 1
MIN_POINTS, MAX_POINTS = 3, 5
STAR_ELEMENTS = ("situation", "task", "action", "result")
REFLECTION_ELEMENTS = ("reflection", "learning")


class BankError(ValueError):
    """The question bank is missing or malformed; the message names the file and question.

    ``question`` (its id, or ``#n`` in file order), ``field`` (the key at fault, when one is)
    and ``problem`` (the message without file or question) let an API answer per field.
    """

    def __init__(
        self,
        message: str,
        *,
        question: str | None = None,
        field: str | None = None,
        problem: str | None = None,
    ) -> None:
        super().__init__(message)
        self.question = question
        self.field = field
        self.problem = problem or message


class _Fail(Protocol):
    def __call__(self, problem: str, field: str | None = None) -> BankError: ...


@dataclass(frozen=True)
class BankPoint:
    point: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class BankMisconception:
    """A common wrong claim, the phrases that signal an answer asserts it, and (optionally)
    the question an interviewer would challenge it with."""

    claim: str
    cues: tuple[str, ...]
    challenge: str = ""


@dataclass(frozen=True)
class BankQuestion:
    id: str
    track: str
    level: str
    topics: tuple[str, ...]
    text: str
    points: tuple[BankPoint, ...]
    follow_up: str
    version: int = 1  # bumped by every edit of the question in the database
    # What a strong answer says, in one to three sentences, and the wrong claims to catch.
    model_answer: tuple[str, ...] = ()
    misconceptions: tuple[BankMisconception, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The question as JSON data: the import/export and plan-snapshot shape."""
        return {
            "id": self.id,
            "track": self.track,
            "level": self.level,
            "topics": list(self.topics),
            "text": self.text,
            "points": [{"point": p.point, "keywords": list(p.keywords)} for p in self.points],
            "follow_up": self.follow_up,
            "version": self.version,
            "model_answer": list(self.model_answer),
            "misconceptions": [
                {"claim": m.claim, "cues": list(m.cues), "challenge": m.challenge}
                for m in self.misconceptions
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BankQuestion:
        """Back from ``as_dict`` (trusted data: it was validated before it was stored)."""
        return cls(
            id=data["id"],
            track=data["track"],
            level=data["level"],
            topics=tuple(data["topics"]),
            text=data["text"],
            points=tuple(
                BankPoint(point=p["point"], keywords=tuple(p["keywords"])) for p in data["points"]
            ),
            follow_up=data["follow_up"],
            version=data.get("version", 1),
            model_answer=tuple(data.get("model_answer", ())),
            misconceptions=tuple(
                BankMisconception(m["claim"], tuple(m["cues"]), m.get("challenge", ""))
                for m in data.get("misconceptions", ())
            ),
        )


def rubric_of(number: int, question: BankQuestion) -> QuestionRubric:
    """A bank question's private rubric: its expected points (and what a model answer says)
    and its known misconceptions as the pitfalls to catch."""
    return QuestionRubric(
        number=number,
        question_id=question.id,
        question=question.text,
        expected_points=tuple(p.point for p in question.points) + question.model_answer,
        pitfalls=tuple(m.claim for m in question.misconceptions),
    )


def normalise(text: str) -> str:
    """Lowercase, straighten curly apostrophes and collapse whitespace, for cue matching."""
    return " ".join(text.lower().replace("\u2019", "'").split())


# ---------------------------------------------------------------------------- loading the bank

_QUESTION_KEYS = frozenset({"id", "level", "topics", "text", "points", "follow_up"})
_OPTIONAL_QUESTION_KEYS = frozenset({"model_answer", "misconceptions"})
_POINT_KEYS = frozenset({"point", "keywords"})
_MISCONCEPTION_KEYS = frozenset({"claim", "cues", "challenge"})
MAX_MODEL_SENTENCES = MAX_MISCONCEPTIONS = 3
_FILE_KEYS = frozenset({"track", "version", "question"})


def load_bank(directory: Path) -> dict[str, list[BankQuestion]]:
    """Read every ``*.toml`` file in ``directory`` into track -> questions, in file order.

    Raises ``BankError`` naming the file, the question id and what is wrong.
    """
    if not directory.is_dir():
        raise BankError(f"{directory}: question bank directory does not exist")
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise BankError(f"{directory}: no .toml question files found")
    bank: dict[str, list[BankQuestion]] = {}
    file_of_id: dict[str, Path] = {}
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise BankError(f"{path}: not valid TOML: {exc}") from exc
        track, questions = _parse_bank_file(path, data)
        for question in questions:
            if question.id in file_of_id:
                raise BankError(
                    f"{path}: question {question.id!r}: duplicate id, "
                    f"already defined in {file_of_id[question.id]}"
                )
            file_of_id[question.id] = path
        bank.setdefault(track, []).extend(questions)
    return bank


def _parse_bank_file(path: Path, data: dict[str, Any]) -> tuple[str, list[BankQuestion]]:
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise BankError(f"{path}: unknown top-level keys {unknown}")
    track = data.get("track")
    if track not in TRACKS:
        raise BankError(f"{path}: track must be one of {list(TRACKS)}, got {track!r}")
    version = data.get("version")
    if version != BANK_VERSION or isinstance(version, bool):
        raise BankError(f"{path}: version must be {BANK_VERSION}, got {version!r}")
    entries = data.get("question")
    if not isinstance(entries, list) or not entries:
        raise BankError(f"{path}: expected at least one [[question]] table")
    questions = [
        parse_question(str(track), entry, index=index, origin=str(path))
        for index, entry in enumerate(entries)
    ]
    return str(track), questions


def parse_question(
    track: str, entry: Any, *, index: int = 0, origin: str = "question bank"
) -> BankQuestion:
    """One ``[[question]]`` table of ``track`` checked by the bank's rules (the files' and the
    admin API's alike); raises ``BankError`` naming ``origin``, the question and the field."""
    label = f"#{index + 1}"
    if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"].strip():
        label = repr(entry["id"].strip())

    def fail(problem: str, field: str | None = None) -> BankError:
        return BankError(
            f"{origin}: question {label}: {problem}", question=label, field=field, problem=problem
        )

    if not isinstance(entry, dict):
        raise fail("must be a table")
    unknown = sorted(set(entry) - _QUESTION_KEYS - _OPTIONAL_QUESTION_KEYS)
    if unknown:
        raise fail(f"unknown keys {unknown}", unknown[0])
    missing = sorted(_QUESTION_KEYS - set(entry))
    if missing:
        raise fail(f"missing keys {missing}", missing[0])
    question_id = _non_empty_str(entry["id"], "id", fail)
    level = entry["level"]
    if level not in LEVELS:
        raise fail(f"level must be one of {list(LEVELS)}, got {level!r}", "level")
    topics = entry["topics"]
    if not isinstance(topics, list) or not topics:
        raise fail("topics must be a non-empty list of strings", "topics")
    topic_names = tuple(_non_empty_str(topic, "each topic", fail, "topics") for topic in topics)
    text = _non_empty_str(entry["text"], "text", fail)
    follow_up = _non_empty_str(entry["follow_up"], "follow_up", fail)
    raw_points = entry["points"]
    if not isinstance(raw_points, list) or not MIN_POINTS <= len(raw_points) <= MAX_POINTS:
        count = len(raw_points) if isinstance(raw_points, list) else "no list"
        raise fail(
            f"points must be a list of {MIN_POINTS}-{MAX_POINTS} entries, got {count}", "points"
        )
    points = tuple(_parse_point(raw, number, fail) for number, raw in enumerate(raw_points, 1))
    if track == "behavioral":
        _check_star_points(points, fail)
    model_answer = entry.get("model_answer", [])
    if not isinstance(model_answer, list) or len(model_answer) > MAX_MODEL_SENTENCES:
        raise fail(
            f"model_answer must be a list of at most {MAX_MODEL_SENTENCES} sentences",
            "model_answer",
        )
    raw_misconceptions = entry.get("misconceptions", [])
    if not isinstance(raw_misconceptions, list) or len(raw_misconceptions) > MAX_MISCONCEPTIONS:
        raise fail(
            f"misconceptions must be a list of at most {MAX_MISCONCEPTIONS} tables",
            "misconceptions",
        )
    return BankQuestion(
        id=question_id,
        track=track,
        level=str(level),
        topics=topic_names,
        text=text,
        points=points,
        follow_up=follow_up,
        model_answer=tuple(
            _non_empty_str(sentence, "each model_answer sentence", fail, "model_answer")
            for sentence in model_answer
        ),
        misconceptions=tuple(
            _parse_misconception(raw, number, fail)
            for number, raw in enumerate(raw_misconceptions, 1)
        ),
    )


def _parse_misconception(raw: Any, number: int, fail: _Fail) -> BankMisconception:
    field = "misconceptions"
    if not isinstance(raw, dict) or not {"claim", "cues"} <= set(raw) <= _MISCONCEPTION_KEYS:
        raise fail(
            f"misconception {number} must be a table with 'claim', 'cues' and optionally "
            "'challenge'",
            field,
        )
    claim = _non_empty_str(raw["claim"], f"misconception {number} claim", fail, field)
    cues = raw["cues"]
    if not isinstance(cues, list) or not cues:
        raise fail(f"misconception {number} ({claim!r}) needs a non-empty cues list", field)
    challenge = raw.get("challenge", "")
    if not isinstance(challenge, str):
        raise fail(f"misconception {number} challenge must be a string", field)
    return BankMisconception(
        claim=claim,
        cues=tuple(
            normalise(_non_empty_str(cue, f"misconception {number} cue", fail, field))
            for cue in cues
        ),
        challenge=challenge.strip(),
    )


def _parse_point(raw: Any, number: int, fail: _Fail) -> BankPoint:
    if not isinstance(raw, dict):
        raise fail(f"point {number} must be a table with 'point' and 'keywords'", "points")
    if set(raw) != _POINT_KEYS:
        raise fail(f"point {number} must have exactly the keys 'point' and 'keywords'", "points")
    text = _non_empty_str(raw["point"], f"point {number} text", fail, "points")
    keywords = raw["keywords"]
    if not isinstance(keywords, list) or not keywords:
        raise fail(f"point {number} ({text!r}) needs a non-empty keywords list", "points")
    normalised = tuple(
        normalise(_non_empty_str(keyword, f"point {number} keyword", fail, "points")).strip()
        for keyword in keywords
    )
    return BankPoint(point=text, keywords=normalised)


def _non_empty_str(value: Any, what: str, fail: _Fail, field: str | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{what} must be a non-empty string, got {value!r}", field or what)
    return value.strip()


def _check_star_points(points: Sequence[BankPoint], fail: _Fail) -> None:
    elements = [star_element(point) for point in points]
    for point, element in zip(points, elements, strict=True):
        if element is None:
            raise fail(
                f"behavioral point {point.point!r} must start with one of "
                "Situation, Task, Action, Result, Reflection or Learning",
                "points",
            )
    absent = [name.capitalize() for name in STAR_ELEMENTS if name not in elements]
    if absent:
        raise fail(f"behavioral points are missing the STAR element(s) {absent}", "points")


def star_element(point: BankPoint) -> str | None:
    first_word = re.match(r"\w+", point.point.lower())
    if first_word and first_word.group() in STAR_ELEMENTS + REFLECTION_ELEMENTS:
        return first_word.group()
    return None


# ---------------------------------------------------------------------------- selection


def _levels_in_fill_order(level: str) -> tuple[str, ...]:
    return {
        "junior": ("junior", "mid", "senior"),
        "mid": ("mid", "junior", "senior"),
        "senior": ("senior", "mid", "junior"),
    }[level]


def _normalise_topic(topic: str) -> str:
    return " ".join(re.sub(r"[-_]", " ", topic.lower()).split())


def _matches_topics(question: BankQuestion, wanted: frozenset[str]) -> bool:
    if not wanted:
        return False
    if wanted & {_normalise_topic(topic) for topic in question.topics}:
        return True
    text = _normalise_topic(question.text)
    return any(re.search(rf"(?<!\w){re.escape(topic)}(?:e?s)?(?!\w)", text) for topic in wanted)


def select_questions(
    bank: dict[str, list[BankQuestion]],
    *,
    track: str,
    level: str,
    topics: Sequence[str],
    count: int,
    seed: str,
    focus: Sequence[focus_terms.Term] = (),
) -> list[BankQuestion]:
    """Pick ``count`` distinct questions for ``track``, shuffled by ``seed``.

    Questions at ``level`` come first, then the adjacent levels (mid first, then the other
    one); within a level, questions matching ``topics`` (by tag or by a word in the text)
    come first. With ``focus`` (a job description's and résumé's terms), the questions that
    target them lead, the best match first: those at ``level``, then those at the other
    levels, then the rest as above. Returns fewer than ``count`` only when the track has fewer
    questions.
    """
    if track not in bank:
        known = ", ".join(sorted(bank)) or "none"
        raise ValueError(f"Unknown track {track!r}; the question bank has: {known}")
    if level not in LEVELS:
        raise ValueError(f"Unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if count < 0:
        raise ValueError(f"count must be zero or more, got {count}")
    rng = random.Random(seed)
    wanted = frozenset(_normalise_topic(topic) for topic in topics if topic.strip())
    ordered: list[BankQuestion] = []
    for candidate_level in _levels_in_fill_order(level):
        pool = [question for question in bank[track] if question.level == candidate_level]
        matching = [question for question in pool if _matches_topics(question, wanted)]
        others = [question for question in pool if question not in matching]
        rng.shuffle(matching)
        rng.shuffle(others)
        ordered.extend(matching + others)
    if focus:
        ordered = _focused(ordered, level, wanted, focus)
    chosen: list[BankQuestion] = []
    seen_ids: set[str] = set()
    for question in ordered:
        if len(chosen) == count:
            break
        if question.id not in seen_ids:
            seen_ids.add(question.id)
            chosen.append(question)
    return chosen


def _focused(
    ordered: Sequence[BankQuestion],
    level: str,
    wanted: frozenset[str],
    focus: Sequence[focus_terms.Term],
) -> list[BankQuestion]:
    """``ordered`` with the questions that target ``focus`` first: at ``level`` (chosen topics
    first), then at the other levels in fill order; the best match first, ties in the seeded
    order (the sort is stable)."""
    fill_order = _levels_in_fill_order(level)

    def tier(question: BankQuestion) -> tuple[int, int, float]:
        score = focus_terms.focus_score(question, focus)
        rank = fill_order.index(question.level)
        if rank == 0 and _matches_topics(question, wanted):
            return 0, 0, -score
        if score > 0:
            return 1 if rank == 0 else 2, rank, -score
        return 3, 0, 0.0

    return sorted(ordered, key=tier)


def plan_questions(
    bank: dict[str, list[BankQuestion]], brief: InterviewBrief
) -> list[BankQuestion]:
    """An interview's main questions from ``bank``: the same bank and brief, the same list.
    They lean towards the job description and résumé when the brief has them."""
    return select_questions(
        bank,
        track=brief.track,
        level=brief.level,
        topics=brief.topics,
        count=brief.question_count,
        seed=brief.interview_id,
        focus=focus_terms.brief_terms(brief),
    )


# ---------------------------------------------------------------------------- sources


class QuestionSource(ABC):
    """Where an interviewer gets its questions: the shipped files, or the bank the admins edit
    (``server/questions``). An interview's questions are fixed when it is planned: an edit
    made later never changes what a running interview asks, scores against or reports on."""

    @abstractmethod
    async def plan(self, brief: InterviewBrief) -> list[BankQuestion]:
        """The interview's main questions, in order; asked again, the same list (after an
        edit of the bank and in another process too)."""

    @abstractmethod
    async def question(self, interview_id: str, question_id: str | None) -> BankQuestion | None:
        """``question_id`` as ``interview_id`` was planned with it; None if it is unknown."""


class FileQuestionSource(QuestionSource):
    """The shipped TOML files, read once on first use: a bank that never changes, so a plan is
    just the seeded selection, the same every time."""

    def __init__(self, directory: Path = BANK_DIR) -> None:
        self.directory = directory

    @cached_property
    def bank(self) -> dict[str, list[BankQuestion]]:
        return load_bank(self.directory)

    @cached_property
    def _by_id(self) -> dict[str, BankQuestion]:
        return {q.id: q for questions in self.bank.values() for q in questions}

    async def plan(self, brief: InterviewBrief) -> list[BankQuestion]:
        return plan_questions(self.bank, brief)

    async def question(self, interview_id: str, question_id: str | None) -> BankQuestion | None:
        return self._by_id.get(question_id or "")
