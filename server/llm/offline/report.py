"""The offline end-of-interview report: overall score, strengths, weaknesses, next steps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from server.llm.base import CRITERIA, CriterionScore, ReportDraft
from server.llm.offline.bank import BankQuestion
from server.llm.offline.scoring import (
    LONG_SENTENCE_WORDS,
    LONG_WORDS,
    RUBRIC_VERSION,
    SHORT_WORDS,
    SPECIFICITY_ORDER,
    Clarity,
    analyse,
    assess_clarity,
    assess_coverage,
    assess_specificity,
    assess_structure,
    clause_cut,
)

_STRENGTH_THRESHOLD = 3.5
_SNIPPET_CHARS = 80  # about 12 words
# Shorter than base.TRACK_LABELS: they read inside a sentence ("two data and ML answers").
_REPORT_TRACK_LABELS = {
    "backend": "backend",
    "frontend": "frontend",
    "data_ml": "data and ML",
    "product": "product",
    "behavioral": "behavioral",
}
_STRENGTH_PHRASES = {
    "coverage": "You covered the key points well",
    "structure": "Your answers were well structured",
    "specificity": "You backed your answers with concrete detail",
    "clarity": "You expressed yourself clearly",
}
_CRITERION_LABELS = {
    "coverage": "coverage of the key points",
    "structure": "structure",
    "specificity": "specific detail",
    "clarity": "clarity",
}
_STRUCTURE_GAPS = {
    "situation": "a clear situation",
    "task": "a clear statement of your task",
    "action": "an account of what you personally did",
    "result": "a clear result",
    "sequencing": "clear steps such as first, then and finally",
    "reasoning": "the reasons behind your choices",
    "trade_offs": "the trade-offs you weighed",
    "examples": "an example to ground the point",
    "layout": "a closing summary",
}
_SPECIFICITY_GAPS = {
    "quantity": "numbers or measured results",
    "action": "a clear account of what you personally did",
    "named": "the names of the tools or systems involved",
    "example": "a real example from your own work",
}


@dataclass(frozen=True)
class _Turn:
    question: BankQuestion | None
    answer: str
    scores: tuple[CriterionScore, ...]


def _round_score(value: float) -> float:
    return max(1.0, min(5.0, int(value * 10 + 0.5) / 10))


def _snippet(evidence: str) -> str:
    """The start of a quote for a sentence of the report, cut where a clause ends."""
    cut = clause_cut(" ".join(evidence.split()), _SNIPPET_CHARS)
    snippet = cut.rstrip(".,;:!?").replace('"', "'")
    return snippet + "..." if len(cut) < len(" ".join(evidence.split())) else snippet


def _quoted_points(points: Sequence[str]) -> str:
    quoted = [f'"{point}"' for point in points]
    return " and ".join(quoted)


def _ranked_missed_points(turns: Sequence[_Turn]) -> list[str]:
    counts: Counter[str] = Counter()
    for turn in turns:
        if turn.question is not None:
            counts.update(
                p.point for p in assess_coverage(turn.question, analyse(turn.answer)).missed
            )
    return [point for point, _ in counts.most_common()]


def _weakness(criterion: str, mean: float, turns: Sequence[_Turn], track: str) -> str:
    lead = f"{_CRITERION_LABELS[criterion].capitalize()} averaged {mean:.1f} of 5"
    analysed = [analyse(turn.answer) for turn in turns]
    total = len(turns)
    if criterion == "coverage":
        missed = _ranked_missed_points(turns)[:2]
        if missed:
            return f"{lead}; answers missed points such as {_quoted_points(missed)}."
        return f"{lead}; answers left out parts of what the questions were looking for."
    if criterion == "structure":
        behavioral = track == "behavioral"
        structures = [assess_structure(answer, behavioral=behavioral) for answer in analysed]
        gaps = Counter(structure.missing[0] for structure in structures if structure.missing)
        if gaps:
            return (
                f"{lead}; answers most often lacked {_STRUCTURE_GAPS[gaps.most_common(1)[0][0]]}."
            )
        return f"{lead}; some answers were too short to show how your reasoning fits together."
    if criterion == "specificity":
        gaps = Counter(kind for answer in analysed for kind in assess_specificity(answer).missing)
        if gaps:
            kind = min(gaps, key=lambda k: (-gaps[k], SPECIFICITY_ORDER.index(k)))
            return f"{lead}; {gaps[kind]} of {total} answers had no {_SPECIFICITY_GAPS[kind]}."
        return f"{lead}; the details were there but the impact of them was not always clear."
    clarities = [assess_clarity(answer) for answer in analysed]
    issue, affected = _dominant_clarity_issue(clarities)
    if issue == "short":
        return f"{lead}; {affected} of {total} answers were under {SHORT_WORDS} words."
    if issue == "filler":
        fillers = Counter(clarity.top_filler for clarity in clarities if clarity.top_filler)
        count = sum(clarity.filler_count for clarity in clarities)
        return (
            f'{lead}; filler words such as "{fillers.most_common(1)[0][0]}" came up {count} times.'
        )
    if issue == "long_sentences":
        return f"{lead}; sentences often ran past {LONG_SENTENCE_WORDS} words."
    if issue == "long":
        return f"{lead}; {affected} of {total} answers ran past {LONG_WORDS} words."
    return f"{lead}; answers could lead more directly with the main point."


def _dominant_clarity_issue(clarities: Sequence[Clarity]) -> tuple[str, int]:
    """The most common clarity problem and how many answers had it, or ("none", 0)."""
    issues = Counter(clarity.issue for clarity in clarities if clarity.issue != "none")
    return issues.most_common(1)[0] if issues else ("none", 0)


def _practice_step(criterion: str, turns: Sequence[_Turn], track: str) -> str:
    label = _REPORT_TRACK_LABELS.get(track, track.replace("_", " "))
    if criterion == "coverage":
        missed = _ranked_missed_points(turns)[:2]
        if missed:
            return (
                f"Practise two {label} answers that explicitly cover {_quoted_points(missed)}, "
                "saying one clear sentence about each."
            )
        return (
            "Before each answer, jot down the three or four areas the question touches and "
            f"check them off as you speak; practise this on two {label} questions."
        )
    if criterion == "structure":
        if track == "behavioral":
            return (
                "Rehearse two stories from your own work in STAR order: a short situation and "
                "task, most of the time on your own actions, then a measured result and what "
                "you learned."
            )
        return (
            f"Answer three {label} questions aloud using the pattern headline, steps, "
            "trade-off, summary, and keep each to about two minutes."
        )
    if criterion == "specificity":
        return (
            "Write down three numbers from your recent work, such as a latency, a cost, a "
            "deadline or a percentage, and use one in each of your next practice answers."
        )
    issue, _ = _dominant_clarity_issue([assess_clarity(analyse(turn.answer)) for turn in turns])
    if issue == "short":
        return (
            f"Practise two {label} answers of four to six sentences each: your answer, two "
            "reasons and one example, in about ninety seconds."
        )
    if issue == "long":
        return (
            f"Answer two {label} questions against a two-minute timer and stop as soon as you "
            "have given your summary."
        )
    return (
        "Record yourself answering two questions, then replay the recording and cut filler "
        "words and any sentence longer than about 25 words."
    )


def _unanswered_report(track: str, total: int) -> ReportDraft:
    label = _REPORT_TRACK_LABELS.get(track, track.replace("_", " "))
    skipped = f"all {total} questions" if total else "the interview"
    return ReportDraft(
        overall_score=1.0,
        strengths=[],
        weaknesses=[
            f"No answers were given for {skipped}, so there is nothing to assess yet; "
            "the score reflects that, not your ability."
        ],
        next_steps=[
            f"Start with one {label} question and answer it out loud in about two minutes, "
            "even if the answer is incomplete.",
            "Write down three projects or experiences you could draw examples from before "
            "your next session.",
            f"Take another {label} mock interview and aim to answer every question: answer "
            "first, then your reasons, then one example.",
        ],
        rubric_version=RUBRIC_VERSION,
    )


def build_report(
    turns: Sequence[tuple[BankQuestion | None, str | None, Sequence[CriterionScore]]],
    *,
    track: str,
) -> ReportDraft:
    """Summarise an interview into an overall score, strengths, weaknesses and 3 next steps.

    A turn counts as answered when it has a non-blank answer and scores; its average is the
    mean of its criterion values. A skipped or timed-out turn (no or blank answer) counts as
    a 1.0 average. Answered turns without scores are ignored. The overall score is the mean
    of the turn averages, rounded to one decimal and clamped to 1.0-5.0.
    """
    answered = [
        _Turn(question, answer, tuple(scores))
        for question, answer, scores in turns
        if answer is not None and answer.strip() and scores
    ]
    skipped = sum(1 for _, answer, _ in turns if answer is None or not answer.strip())
    counted = len(answered) + skipped
    if not answered:
        return _unanswered_report(track, counted)
    turn_means = [sum(s.value for s in turn.scores) / len(turn.scores) for turn in answered]
    overall = _round_score((sum(turn_means) + skipped * 1.0) / counted)

    means: dict[str, float] = {}
    best_evidence: dict[str, str] = {}
    for criterion in CRITERIA:
        values = [s for turn in answered for s in turn.scores if s.criterion == criterion]
        if values:
            means[criterion] = sum(s.value for s in values) / len(values)
            best_evidence[criterion] = max(values, key=lambda s: s.value).evidence
    strongest_first = sorted(means, key=lambda c: (-means[c], CRITERIA.index(c)))
    strengths = _strengths(strongest_first, means, best_evidence)
    weaknesses = _weaknesses(strongest_first, means, answered, skipped, counted, track)
    return ReportDraft(
        overall_score=overall,
        strengths=strengths,
        weaknesses=weaknesses,
        next_steps=_next_steps(strongest_first[::-1], answered, skipped, track),
        rubric_version=RUBRIC_VERSION,
    )


def _strengths(
    strongest_first: Sequence[str], means: dict[str, float], best_evidence: dict[str, str]
) -> list[str]:
    def strength(criterion: str, phrase: str) -> str:
        snippet = _snippet(best_evidence[criterion])
        example = f', for example "{snippet}"' if snippet else ""
        return f"{phrase} ({means[criterion]:.1f} of 5 on average){example}."

    strong = [c for c in strongest_first if means[c] >= _STRENGTH_THRESHOLD]
    if strong:
        return [strength(c, _STRENGTH_PHRASES[c]) for c in strong[:3]]
    if strongest_first:
        best = strongest_first[0]
        return [strength(best, f"Your relatively strongest area was {_CRITERION_LABELS[best]}")]
    return []


def _weaknesses(
    strongest_first: Sequence[str],
    means: dict[str, float],
    answered: Sequence[_Turn],
    skipped: int,
    counted: int,
    track: str,
) -> list[str]:
    weaknesses: list[str] = []
    if skipped:
        weaknesses.append(f"You skipped or ran out of time on {skipped} of {counted} questions.")
    # The best criterion is already named as a strength, even when it is below the threshold.
    for criterion in list(reversed(strongest_first))[: len(strongest_first) - 1]:
        if means[criterion] < _STRENGTH_THRESHOLD:
            weaknesses.append(_weakness(criterion, means[criterion], answered, track))
    if not weaknesses and all(mean >= _STRENGTH_THRESHOLD for mean in means.values()):
        lowest = strongest_first[-1]
        weaknesses.append(
            f"No area scored below {_STRENGTH_THRESHOLD} of 5; {_CRITERION_LABELS[lowest]} at "
            f"{means[lowest]:.1f} has the most room to grow."
        )
    return weaknesses[:3]


def _next_steps(
    weakest_first: Sequence[str], answered: Sequence[_Turn], skipped: int, track: str
) -> list[str]:
    """Exactly three steps: the weakest criterion, the most-missed points, then the rest."""
    label = _REPORT_TRACK_LABELS.get(track, track.replace("_", " "))
    answer_everything = (
        "Answer every question in your next session, even briefly: a partial answer scores "
        "better than a skipped one."
    )
    practise_again = (
        f"Take another {label} mock interview next week and compare your scores criterion "
        "by criterion.",
        "Pick the question you found hardest, write out a model answer, then say it aloud "
        "without notes.",
    )
    generic = (
        (answer_everything, *practise_again) if skipped else (*practise_again, answer_everything)
    )
    missed_points = (
        [_practice_step("coverage", answered, track)] if _ranked_missed_points(answered) else []
    )
    candidates = [
        *(_practice_step(criterion, answered, track) for criterion in weakest_first[:1]),
        *missed_points,
        *(_practice_step(criterion, answered, track) for criterion in weakest_first[1:]),
        *generic,
    ]
    steps: list[str] = []
    for step in candidates:
        if step not in steps:
            steps.append(step)
    return steps[:3]
