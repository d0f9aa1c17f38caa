"""The grader's checklist: what a good interviewer does, checked on a finished interview.

Each check reads the transcript as the candidate's report shows it (the interviewer's words,
the answers, the scores and the report) beside what the simulated candidate meant by each
answer, and says which turns broke it and why:

- one question per turn: at most one question mark in anything the interviewer says;
- no leaked answers: no run of five words from a question's expected points (nor a whole
  short point) in the interviewer's words, unless the question itself or the candidate said
  it first;
- follow-ups on the right point: a follow-up refers to what the candidate said, or to the
  question's topic or expected points (a redirect or scaffold after a non-answer);
- wrong claims challenged: an answer built on a wrong claim scores at most 2 on coverage;
- non-answers not rewarded: "I don't know", off-topic and injection attempts score at most 2
  on coverage;
- report consistent with the scores: the overall and per-question scores follow the one rule
  (``server.llm.overall``), and any "x of 5" in the report's text is one of the real numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.llm import overall
from server.llm.base import WRONG_COVERAGE_CAP
from server.llm.offline.meaning import content_stems, words_of

CHECKS = (
    "one_question_per_turn",
    "no_leaked_answers",
    "follow_up_on_point",
    "wrong_claims_challenged",
    "non_answers_not_rewarded",
    "report_consistent",
)
NON_ANSWERS = frozenset({"dont_know", "off_topic", "injection"})
LEAK_WORDS = 5  # a run of this many words of an expected point is a leak
_SCORE_IN_TEXT = re.compile(r"\b([1-5](?:\.\d)?)\s*(?:/\s*5|out of 5|of 5)\b")


@dataclass(frozen=True)
class Turn:
    index: int
    kind: str  # question | follow_up
    number: int  # its main question
    spoken: str  # what the interviewer said
    answer: str | None
    intent: str | None  # what the simulated candidate meant: a persona's name, or "wrong"
    scores: Mapping[str, int]


@dataclass(frozen=True)
class Transcript:
    turns: Sequence[Turn]
    planned: Mapping[int, str]  # each main question as planned (the bank's words)
    expected_points: Mapping[int, Sequence[str]]  # from the report's "what a strong answer covers"
    report: Mapping[str, Any] | None  # the REST report


@dataclass(frozen=True)
class Finding:
    check: str
    turn: int | None  # None: about the whole interview
    detail: str


@dataclass
class Grade:
    findings: list[Finding] = field(default_factory=list)

    def failed(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    @property
    def passed(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        return "\n".join(f"{f.check} (turn {f.turn}): {f.detail}" for f in self.findings) or "ok"


def grade(transcript: Transcript) -> Grade:
    result = Grade()
    for check in (
        _one_question_per_turn,
        _no_leaked_answers,
        _follow_up_on_point,
        _wrong_claims_challenged,
        _non_answers_not_rewarded,
        _report_consistent,
    ):
        result.findings.extend(check(transcript))
    return result


# ---------------------------------------------------------------------------- checks


def _one_question_per_turn(transcript: Transcript) -> list[Finding]:
    return [
        Finding("one_question_per_turn", t.index, f"{t.spoken.count('?')} questions: {t.spoken!r}")
        for t in transcript.turns
        if t.spoken.count("?") > 1
    ]


def _runs(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _no_leaked_answers(transcript: Transcript) -> list[Finding]:
    findings = []
    said_by_candidate: list[str] = []
    for turn in transcript.turns:
        known = _runs(words_of(transcript.planned.get(turn.number, "")), LEAK_WORDS)
        for answer in said_by_candidate:
            known |= _runs(words_of(answer), LEAK_WORDS)
        spoken = words_of(turn.spoken)
        spoken_runs = _runs(spoken, LEAK_WORDS)
        for point in transcript.expected_points.get(turn.number, ()):
            words = words_of(point)
            if len(words) < LEAK_WORDS:
                # A short point leaks only whole, and only with three words or more.
                leaked = len(words) >= 3 and tuple(words) in _runs(spoken, len(words))
                leaked = leaked and tuple(words) not in {
                    r for a in said_by_candidate for r in _runs(words_of(a), len(words))
                }
            else:
                leaked = bool((_runs(words, LEAK_WORDS) & spoken_runs) - known)
            if leaked:
                findings.append(
                    Finding("no_leaked_answers", turn.index, f"said the expected point {point!r}")
                )
        if turn.answer:
            said_by_candidate.append(turn.answer)
    return findings


def _stems(text: str) -> set[str]:
    return set(content_stems(words_of(text)))


def _follow_up_on_point(transcript: Transcript) -> list[Finding]:
    findings = []
    previous: Turn | None = None
    main: Turn | None = None
    for turn in transcript.turns:
        if turn.kind == "question":
            main = turn
        elif previous is not None and main is not None:
            topic = _stems(main.spoken) | _stems(transcript.planned.get(turn.number, ""))
            for point in transcript.expected_points.get(turn.number, ()):
                topic |= _stems(point)
            said = _stems(previous.answer or "")
            spoken = _stems(turn.spoken)
            if previous.intent in NON_ANSWERS or not said:
                on_point = bool(spoken & topic)  # a redirect or a scaffold, on the question
                wanted = "the question's topic"
            else:
                on_point = bool(spoken & (said | topic))
                wanted = "what the candidate said or the question's expected points"
            if not on_point:
                findings.append(
                    Finding(
                        "follow_up_on_point",
                        turn.index,
                        f"the follow-up {turn.spoken!r} refers to neither {wanted}",
                    )
                )
        previous = turn
    return findings


def _wrong_claims_challenged(transcript: Transcript) -> list[Finding]:
    return [
        Finding(
            "wrong_claims_challenged",
            t.index,
            f"a wrong claim scored {t.scores['coverage']} on coverage "
            f"(at most {WRONG_COVERAGE_CAP}): {t.answer!r}",
        )
        for t in transcript.turns
        if t.intent == "wrong" and t.scores.get("coverage", 0) > WRONG_COVERAGE_CAP
    ]


def _non_answers_not_rewarded(transcript: Transcript) -> list[Finding]:
    return [
        Finding(
            "non_answers_not_rewarded",
            t.index,
            f"a {t.intent} reply scored {t.scores['coverage']} on coverage: {t.answer!r}",
        )
        for t in transcript.turns
        if t.intent in NON_ANSWERS and t.scores.get("coverage", 0) > 2
    ]


def _report_consistent(transcript: Transcript) -> list[Finding]:
    report = transcript.report
    if report is None:
        answered = any(t.answer for t in transcript.turns)
        return [Finding("report_consistent", None, "no report")] if answered else []
    findings = []
    results = overall.question_results(
        [
            overall.TurnResult(t.kind, bool(t.answer and t.answer.strip()), list(t.scores.values()))
            for t in transcript.turns
        ]
    )
    computed = overall.overall(results)
    if computed is not None and report["overall_score"] != computed:
        findings.append(
            Finding(
                "report_consistent",
                None,
                f"overall {report['overall_score']}, the rule gives {computed}",
            )
        )
    shown = [q["score"] for q in report["questions"]]
    if shown != [r.score for r in results]:
        findings.append(
            Finding(
                "report_consistent",
                None,
                f"question scores {shown}, the rule gives {[r.score for r in results]}",
            )
        )
    allowed = {f"{r.score:.1f}" for r in results if r.score is not None}
    allowed |= {f"{report['overall_score']:.1f}"}
    allowed |= {str(v) for t in transcript.turns for v in t.scores.values()}
    for criterion in {c for t in transcript.turns for c in t.scores}:
        values = [t.scores[criterion] for t in transcript.turns if criterion in t.scores]
        allowed.add(f"{sum(values) / len(values):.1f}")
    for key in ("strengths", "weaknesses", "next_steps"):
        for text in report[key]:
            for number in _SCORE_IN_TEXT.findall(text):
                if number not in allowed and f"{float(number):.1f}" not in allowed:
                    findings.append(
                        Finding(
                            "report_consistent",
                            None,
                            f"the report says {number} of 5, which no score gives: {text!r}",
                        )
                    )
    return findings
