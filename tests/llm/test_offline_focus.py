"""Planning from a job description and a résumé: their terms are extracted, the bank's
questions that target them lead the interview, and each planned question says which terms it
targets. Without either, the plan is what it always was."""

from __future__ import annotations

from server.llm.base import InterviewBrief
from server.llm.offline import BankPoint, BankQuestion, select_questions
from server.llm.offline.bank import plan_questions
from server.llm.offline.focus import brief_terms, extract_terms, planned_targets


def _question(qid: str, level: str, topics: tuple[str, ...], text: str) -> BankQuestion:
    return BankQuestion(
        id=qid,
        track="backend",
        level=level,
        topics=topics,
        text=text,
        points=(
            BankPoint("A first point", ("first",)),
            BankPoint("A second point", ("second",)),
            BankPoint("A third point", ("third",)),
        ),
        follow_up="Can you give an example?",
    )


BANK = {
    "backend": [
        _question("pagination", "mid", ("apis", "pagination"), "How would you paginate an API?"),
        _question("queues", "mid", ("queues", "messaging"), "How do you run a job exactly once?"),
        _question("cache", "mid", ("caching",), "How would you cache a slow endpoint?"),
        _question("auth", "mid", ("security", "auth"), "How do you store passwords?"),
        _question("indexes", "mid", ("databases", "indexing"), "When would you add an index?"),
        _question("kafka", "senior", ("streaming",), "Design a Kafka consumer group at scale."),
        _question("http", "junior", ("http",), "What happens when you type a URL?"),
    ]
}
JOB = (
    "We are looking for a backend engineer to own our event pipeline: Kafka consumers, message "
    "queues and background jobs. Strong experience with queues, retries and Redis caching."
)


def _brief(
    job: str = "", resume: str = "", count: int = 3, topics: tuple[str, ...] = ()
) -> InterviewBrief:
    return InterviewBrief(
        interview_id="6a4f3c1e-0000-4000-8000-000000000001",
        track="backend",
        level="mid",
        topics=topics,
        job_description=job,
        resume_text=resume,
        question_count=count,
    )


def test_terms_keep_technical_words_and_drop_job_ad_boilerplate() -> None:
    terms = [term.text for term in extract_terms(JOB)]
    assert {"kafka", "queues", "redis", "caching"} <= set(terms)
    assert not {"we", "looking", "strong", "experience", "backend", "engineer"} & set(terms)
    assert terms[0] == "queues"  # said twice: the most frequent first


def test_a_frequent_noun_is_kept_and_a_one_off_word_is_not() -> None:
    terms = [t.text for t in extract_terms("Invoices matter. We reconcile invoices daily. Tidy.")]
    assert "invoices" in terms and "tidy" not in terms and "daily" not in terms


def test_without_a_job_description_or_resume_the_plan_is_unchanged() -> None:
    brief = _brief()
    assert brief_terms(brief) == []
    expected = select_questions(
        BANK, track="backend", level="mid", topics=(), count=3, seed=brief.interview_id
    )
    assert plan_questions(BANK, brief) == expected


def test_questions_that_target_the_job_description_lead_the_plan() -> None:
    """Queues and caching at the level first, best match first; then the nearest level's."""
    plan = [q.id for q in plan_questions(BANK, _brief(JOB, count=4))]
    assert plan[:2] == ["queues", "cache"]
    assert plan[2] == "kafka"  # a senior question on the job's topic before unrelated mid ones


def test_the_resume_also_steers_the_plan_but_weighs_less() -> None:
    resume = "Built password storage with argon2 and auth for an API; security reviews."
    plan = [q.id for q in plan_questions(BANK, _brief(resume=resume, count=2))]
    assert plan[0] == "auth"
    both = [q.id for q in plan_questions(BANK, _brief(JOB, resume, count=3))]
    assert both[0] == "queues" and "auth" in both


def test_chosen_topics_still_come_first() -> None:
    plan = [q.id for q in plan_questions(BANK, _brief(JOB, topics=("indexing",), count=2))]
    assert plan[0] == "indexes"


def test_each_planned_question_says_which_terms_it_targets() -> None:
    brief = _brief(JOB, count=3)
    plan = plan_questions(BANK, brief)
    targets = planned_targets(plan, brief)
    assert targets["queues"][0] == "queues" and "kafka" not in targets["cache"]
    assert "caching" in targets["cache"]
    assert planned_targets(plan, _brief()) == {q.id: () for q in plan}
