"""Offline follow-ups that behave like an interviewer: whole-clause quotes, challenges,
redirects, scaffolds for "I don't know", deeper probes, and no answers given away."""

from __future__ import annotations

import re

import pytest

from server.llm.offline import (
    BANK_DIR,
    BankQuestion,
    follow_up_text,
    load_bank,
    needs_follow_up,
    score_answer,
)
from server.llm.offline.meaning import content_stems, words_of

BANK = {q.id: q for questions in load_bank(BANK_DIR).values() for q in questions}
KAFKA = BANK["backend-mid-05"]
STRONG_KAFKA = (
    "Queues like Kafka and SQS deliver at least once, so duplicates will happen and the "
    "consumer has to be idempotent, for example by storing processed message IDs in a table. "
    "I commit the offset only after processing succeeds. Failures are retried with "
    "exponential backoff, and after five attempts a message goes to a dead-letter queue with "
    "an alert."
)
WRONG_KAFKA = (
    "Kafka guarantees exactly once by default, so duplicates are not a problem and the "
    "consumer does not need to store message IDs at all. I commit the offset as soon as the "
    "message arrives so it is fast."
)


def _follow_up(question: BankQuestion, answer: str) -> str:
    return follow_up_text(question, answer, score_answer(question, answer))


def _quoted(text: str) -> str:
    match = re.search(r'"([^"]+)"', text)
    assert match is not None, f"no quoted phrase in {text!r}"
    return match.group(1)


@pytest.mark.parametrize(
    ("question_id", "answer"),
    [
        (
            "backend-mid-04",
            "We did not put the sessions in Redis, because the data changed every second and "
            "the hit rate would have been close to zero for our 40 customers.",
        ),
        (
            "backend-mid-07",
            "I would never retry a payment call without an idempotency key, since the provider "
            "may already have charged the card once before the timeout hit.",
        ),
        (
            "backend-mid-02",
            "Postgres was not the bottleneck in 2023, although everyone assumed it was, and the "
            "real problem turned out to be the connection pool and slow query plans.",
        ),
    ],
)
def test_a_quote_is_a_whole_clause_and_keeps_its_negation(question_id: str, answer: str) -> None:
    """The quote never drops the "not" or stops mid-phrase: it ends where a clause ends."""
    question = BANK[question_id]
    quote = _quoted(_follow_up(question, answer))
    start = answer.index(quote)
    end = start + len(quote)
    assert start == 0 or answer[start - 2 : start] in (", ", ". ")
    rest = answer[end:]
    assert rest == "" or re.match(r"^(?:[,.;:!?]|\s(?:because|since|although|and|so)\b)", rest)
    negated = re.search(r"\b(?:not|never)\b", answer[:end])
    if negated and negated.start() >= start - 1:
        assert re.search(r"\b(?:not|never)\b", quote)


def test_a_misconception_is_challenged_in_the_candidates_own_words() -> None:
    """The follow-up quotes the wrong claim and asks the question that exposes it."""
    text = _follow_up(KAFKA, WRONG_KAFKA)
    assert _quoted(text) in WRONG_KAFKA
    assert "exactly once" in _quoted(text) or "duplicates" in _quoted(text)
    assert "crashes after processing" in text
    assert needs_follow_up(KAFKA, WRONG_KAFKA, score_answer(KAFKA, WRONG_KAFKA))


def test_a_refuted_misconception_is_not_challenged() -> None:
    """Saying the wrong claim is a mistake is the opposite of asserting it."""
    answer = (
        "A common mistake is to think duplicates are not a problem with Kafka; they are, so "
        "the consumer must be idempotent and store processed message IDs."
    )
    assert "crashes after processing" not in _follow_up(KAFKA, answer)


def test_an_off_topic_answer_is_brought_back_to_the_question() -> None:
    """No follow-up is built on words that have nothing to do with the question."""
    answer = (
        "I really enjoy working in teams where people are kind to each other, and I think "
        "culture matters more than anything else in a company."
    )
    text = _follow_up(KAFKA, answer)
    assert "come back to the question" in text
    assert KAFKA.text in text
    assert "culture" not in text
    assert needs_follow_up(KAFKA, answer, score_answer(KAFKA, answer))


def test_a_keyword_list_is_asked_to_explain_one_term_in_sentences() -> None:
    """Terms without sentences get a request for an explanation, not a quote."""
    text = _follow_up(KAFKA, "Kafka, idempotency, retries, backoff, DLQ, offsets, commits, alerts.")
    assert "explain" in text
    assert '"' not in text


@pytest.mark.parametrize(
    "answer",
    ["I don't know.", "Honestly I'm not sure, I have never worked with message queues."],
)
def test_i_dont_know_gets_an_easier_scaffolded_prompt(answer: str) -> None:
    """Not the bank's harder follow-up: a smaller first step."""
    text = _follow_up(KAFKA, answer)
    assert text != KAFKA.follow_up
    assert text.startswith("That's all right")
    assert needs_follow_up(KAFKA, answer, score_answer(KAFKA, answer))


def test_a_strong_answer_is_probed_one_level_deeper() -> None:
    """A complete answer earns a harder question about its own words."""
    scores = score_answer(KAFKA, STRONG_KAFKA)
    assert needs_follow_up(KAFKA, STRONG_KAFKA, scores)
    text = follow_up_text(KAFKA, STRONG_KAFKA, scores)
    assert _quoted(text) in STRONG_KAFKA
    assert "tenfold" in text


def test_a_middling_answer_moves_on_without_a_follow_up() -> None:
    """Neither weak nor strong, nothing to challenge: the interview moves on."""
    answer = (
        "Kafka delivers messages at least once, so I make the consumer idempotent by keeping "
        "the IDs of processed messages in a table, which in my last role stopped the double "
        "emails we used to send to 3,000 customers."
    )
    assert not needs_follow_up(KAFKA, answer, score_answer(KAFKA, answer))


def _giveaways(question: BankQuestion, answer: str) -> list[str]:
    """The missed points' texts and distinctive keywords: what a follow-up must not say
    (a behavioral follow-up may ask for a STAR element, so its cue words are allowed)."""
    known = set(content_stems(words_of(question.text + " " + answer)))
    words = []
    for point in question.points[1:]:  # the answer makes the first point
        words.append(point.point.lower())
        if question.track == "behavioral":
            continue
        for keyword in point.keywords:
            stems = content_stems(words_of(keyword))
            if stems and len(keyword) >= 6 and not set(stems) <= known:
                words.append(keyword)
    return words


def test_no_follow_up_in_the_bank_reveals_an_expected_point() -> None:
    """For every bank question and a partial answer, no missed point or keyword is named."""
    for question in BANK.values():
        first = question.points[0]
        answer = (
            f"I would start with {first.keywords[0]}, because that is where most of the risk "
            "is, and I have seen it matter in practice."
        )
        text = follow_up_text(question, answer, score_answer(question, answer)).lower()
        text_without_question = text.replace(question.text.lower(), "")
        for giveaway in _giveaways(question, answer):
            assert not re.search(rf"(?<!\w){re.escape(giveaway)}(?!\w)", text_without_question), (
                question.id,
                giveaway,
                text,
            )
