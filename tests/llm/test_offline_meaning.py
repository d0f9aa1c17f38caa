"""Offline scoring by meaning: a strong answer beats a weak one that only sounds right, typos
and other languages are handled fairly, and a question outside the bank still scores."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

from server.llm.base import CriterionScore
from server.llm.offline import BANK_DIR, BankPoint, BankQuestion, load_bank, score_answer
from server.llm.offline.meaning import analyse, phrase_at, understand, word_matches, words_of

SCORING_SET = Path(__file__).with_name("scoring_set.toml")
BANK = {q.id: q for questions in load_bank(BANK_DIR).values() for q in questions}


def _mean(scores: list[CriterionScore]) -> float:
    return sum(score.value for score in scores) / len(scores)


def _by_name(scores: list[CriterionScore]) -> dict[str, CriterionScore]:
    return {score.criterion: score for score in scores}


def _triples() -> list[dict[str, str]]:
    triples: list[dict[str, str]] = tomllib.loads(SCORING_SET.read_text(encoding="utf-8"))["triple"]
    return triples


def test_the_scoring_set_has_forty_triples_over_every_track() -> None:
    """The set is big and varied enough for its accuracy to mean something."""
    triples = _triples()
    assert len(triples) >= 40
    assert {BANK[t["question"]].track for t in triples} == {q.track for q in BANK.values()}
    kinds = {t["kind"] for t in triples}
    assert {"wrong", "keywords", "restated", "ramble", "longer", "typos"} <= kinds
    for triple in triples:
        if triple["kind"] == "longer":
            assert len(triple["weak"].split()) > len(triple["strong"].split()), triple


def test_the_strong_answer_outscores_the_weak_one_in_nine_triples_out_of_ten(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Mean of the four criteria, strictly higher for the strong answer; accuracy per kind."""
    wins: dict[str, list[bool]] = defaultdict(list)
    losses = []
    for triple in _triples():
        question = BANK[triple["question"]]
        strong = _mean(score_answer(question, triple["strong"]))
        weak = _mean(score_answer(question, triple["weak"]))
        wins[triple["kind"]].append(strong > weak)
        if strong <= weak:
            losses.append((triple["question"], triple["kind"], strong, weak))
    total = [won for kind in wins.values() for won in kind]
    with capsys.disabled():
        print("\noffline scoring accuracy per kind:")
        for kind, results in sorted(wins.items()):
            print(f"  {kind:<9} {sum(results)}/{len(results)}")
        print(f"  {'all':<9} {sum(total)}/{len(total)} = {sum(total) / len(total):.0%}")
    assert sum(total) / len(total) >= 0.9, losses
    for kind, results in wins.items():  # no kind of weak answer fools the scorer regularly
        assert sum(results) / len(results) >= 0.8, (kind, losses)


def test_a_confidently_wrong_answer_names_the_misconception_in_its_feedback() -> None:
    """The wrong claim costs coverage and the suggestion says which claim it was."""
    question = BANK["backend-mid-05"]
    triple = next(t for t in _triples() if t["question"] == question.id)
    coverage = _by_name(score_answer(question, triple["weak"]))["coverage"]
    assert coverage.value <= 2
    assert "misconception" in coverage.suggestion
    assert "duplicates are not a problem" in coverage.suggestion


def test_a_correct_answer_with_five_typos_loses_at_most_half_a_point() -> None:
    """Misspelt keywords still match: typos cost little."""
    question = BANK["backend-mid-05"]
    clean = next(t for t in _triples() if t["question"] == question.id)["strong"]
    typos = (
        clean.replace("duplicates", "duplciates")
        .replace("idempotent", "idempotant")
        .replace("exponential", "exponentail")
        .replace("dead-letter", "dead-leter")
        .replace("processing", "procesing")
    )
    assert sum(a != b for a, b in zip(clean.split(), typos.split(), strict=True)) == 5
    assert _mean(score_answer(question, clean)) - _mean(score_answer(question, typos)) <= 0.5
    # The misspelt words still make their points.
    assert _by_name(score_answer(question, typos))["coverage"].value == 5


@pytest.mark.parametrize(
    "answer",
    [
        "Use Redis with a TTL and invalidate on write.",
        "At-least-once delivery, so consumers must be idempotent with a DLQ.",
        "I led it, shipped on time, and latency fell 40 percent.",
        "Kafka, idempotency, retries, backoff, dead-letter queue, offsets, commits.",
    ],
)
def test_no_answer_under_fifteen_words_scores_above_two(answer: str) -> None:
    """However dense, a line cannot carry a mean above 2."""
    assert len(answer.split()) < 15
    for question in (BANK["backend-mid-05"], BANK["behavioral-mid-05"], BANK["frontend-mid-01"]):
        assert _mean(score_answer(question, answer)) <= 2


@pytest.mark.parametrize(
    ("answer", "language"),
    [
        (
            "Las colas entregan los mensajes al menos una vez, por eso el consumidor tiene que "
            "ser idempotente y guardar los identificadores de los mensajes procesados. Los "
            "errores se reintentan con espera exponencial y después van a una cola de errores.",
            "Spanish",
        ),
        (
            "कतार संदेशों को कम से कम एक बार पहुँचाती है। इसलिए उपभोक्ता को आइडेम्पोटेंट होना चाहिए। "
            "असफल संदेशों को बैकऑफ़ के साथ दोबारा भेजा जाता है।",
            "Hindi",
        ),
    ],
)
def test_an_answer_in_another_language_gets_the_english_only_note(
    answer: str, language: str
) -> None:
    """Not a silent low score: every criterion says scoring is English-only."""
    for score in score_answer(BANK["backend-mid-05"], answer):
        assert "English-only" in score.suggestion
        assert language in score.suggestion
        assert score.evidence in answer


def test_hindi_and_other_scripts_end_sentences_at_their_own_marks() -> None:
    """The danda, the ideographic full stop and the Arabic question mark end sentences."""
    assert len(analyse("पहला वाक्य। दूसरा वाक्य। तीसरा").sentences) == 3
    assert len(analyse("一つ目。二つ目。").sentences) == 2
    assert len(analyse("هل هذا سؤال؟ نعم").sentences) == 2


def test_keywords_match_whole_words_only() -> None:
    """ "tree" is not in "street", but "trees" and a misspelt long word still match."""
    assert phrase_at(words_of("tree"), words_of("we walked down the street")) is None
    assert phrase_at(words_of("tree"), words_of("balanced trees")) is not None
    assert word_matches("idempotent", "idempotant")
    assert word_matches("invalidat", "invalidation")
    assert not word_matches("stale", "state")


def test_a_keyword_phrase_survives_inflection_and_word_order() -> None:
    """ "dead letter queue" matches "queue of dead letters"."""
    assert phrase_at(words_of("dead letter queue"), words_of("a queue of dead letters")) is not None


def _tree_question() -> BankQuestion:
    return BankQuestion(
        id="test-tree",
        track="backend",
        level="junior",
        topics=("databases",),
        text="What is a database index?",
        points=(
            BankPoint("Sorted tree structure", ("tree",)),
            BankPoint("Avoids scanning every row", ("full scan",)),
            BankPoint("Costs writes", ("slower writes",)),
        ),
        follow_up="Why?",
    )


def test_a_word_inside_another_word_earns_no_coverage() -> None:
    """An answer about a street covers no point about trees."""
    meaning = understand(_tree_question(), analyse("I would look it up on the street map."))
    assert meaning.covered == ()


def test_a_definition_question_is_not_asked_what_you_personally_built() -> None:
    """Criteria that do not apply to the question type are not demanded."""
    question = BANK["data_ml-junior-01"]
    answer = (
        "I report the median when the data is skewed, such as income or latency, because a "
        "few outliers pull the mean but barely move the median. For example, one customer "
        "with a huge order can double the mean order value. A big gap between the mean and "
        "the median therefore signals skew or outliers, so I also report p90 and p99."
    )
    scores = _by_name(score_answer(question, answer))
    assert scores["specificity"].value >= 4
    assert "personally" not in scores["specificity"].suggestion
    assert "I built" not in scores["specificity"].suggestion


def test_a_strong_structured_answer_is_not_told_to_add_a_because() -> None:
    """Full structure marks come with polish advice, not a missing-cue complaint."""
    question = BANK["backend-mid-05"]
    answer = (
        "First, I assume at-least-once delivery, which means duplicates will happen. Then I "
        "make the consumer idempotent, for example by storing processed message IDs, so a "
        "redelivery changes nothing. Next I commit the offset only after processing. The "
        "trade-off is an extra write per message. Finally, failures are retried with "
        "exponential backoff and then parked in a dead-letter queue with an alert.\n\n"
        "In short: idempotent consumers, late commits, bounded retries."
    )
    structure = _by_name(score_answer(question, answer))["structure"]
    assert structure.value == 5
    assert "because" not in structure.suggestion


def test_a_question_outside_the_bank_is_scored_against_its_nearest_bank_question() -> None:
    """A lightly reworded bank question borrows that question's points."""
    asked = BANK["backend-mid-05"].text.replace("When you consume", "If you consume")
    adhoc = BankQuestion("adhoc", "backend", "mid", (), asked, (), "Can you give an example?")
    answer = next(t for t in _triples() if t["question"] == "backend-mid-05")["strong"]
    coverage = _by_name(score_answer(adhoc, answer))["coverage"]
    assert coverage.value >= 4
    assert "not in the question bank" not in coverage.suggestion


def test_a_question_far_from_the_bank_is_scored_without_expected_points_and_says_so() -> None:
    """No near neighbour: coverage follows the other criteria, and the suggestion says why."""
    adhoc = BankQuestion(
        "adhoc", "backend", "mid", (), "What is your favourite sandwich?", (), "Why?"
    )
    coverage = _by_name(score_answer(adhoc, "I like a cheese sandwich with pickles a lot."))[
        "coverage"
    ]
    assert "not in the question bank" in coverage.suggestion
    assert coverage.value <= 4


def test_every_bank_question_has_model_answers_and_misconceptions() -> None:
    """The content scoring by meaning compares against: 1-3 sentences, 1-3 wrong claims."""
    for question in BANK.values():
        assert 1 <= len(question.model_answer) <= 3, question.id
        assert 1 <= len(question.misconceptions) <= 3, question.id
        assert all(m.cues and m.claim for m in question.misconceptions), question.id


def test_no_model_answer_asserts_one_of_its_own_misconceptions() -> None:
    """The bank's strong answers are not flagged by its own cues."""
    for question in BANK.values():
        if question.track == "behavioral":
            continue
        meaning = understand(question, analyse(" ".join(question.model_answer)))
        assert meaning.asserted == (), (question.id, meaning.asserted[0][0].claim)


def test_a_bank_file_written_for_export_reads_back_with_its_meaning_content(
    tmp_path: Path,
) -> None:
    """The admin export's TOML carries model answers and misconceptions through the loader."""
    from server.questions.schemas import BankFile
    from server.questions.toml_file import bank_file_toml

    question = BANK["backend-mid-05"]
    data = {k: v for k, v in question.as_dict().items() if k not in ("track", "version")}
    file = BankFile.model_validate({"track": "backend", "question": [data]})
    (tmp_path / "backend.toml").write_text(bank_file_toml(file), encoding="utf-8")
    loaded = load_bank(tmp_path)["backend"][0]
    assert loaded.model_answer == question.model_answer
    assert loaded.misconceptions == question.misconceptions
