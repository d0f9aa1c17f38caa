"""Offline interviewer rules: bank loading, question selection, scoring, follow-ups and reports."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from server.llm.base import CRITERIA, CriterionScore
from server.llm.offline import (
    BANK_DIR,
    EVIDENCE_MAX_CHARS,
    TRACKS,
    BankError,
    BankPoint,
    BankQuestion,
    build_report,
    follow_up_text,
    load_bank,
    needs_follow_up,
    score_answer,
    select_questions,
)
from server.llm.offline.meaning import content_stems, words_of
from server.llm.offline.scoring import MAX_QUOTE_WORDS

REAL_BANK = Path(__file__).resolve().parents[2] / "server" / "llm" / "bank"

CACHE_QUESTION = BankQuestion(
    id="backend-mid-01",
    track="backend",
    level="mid",
    topics=("caching", "performance"),
    text="An endpoint is slow because it reads the same data repeatedly. How would you cache it?",
    points=(
        BankPoint("Where the cache lives", ("redis", "memcached", "in-memory", "cdn")),
        BankPoint("Invalidation and staleness", ("invalidat", "stale", "ttl", "expire")),
        BankPoint("Measuring the effect", ("hit rate", "hit ratio", "latency", "measure")),
        BankPoint("Failure modes", ("stampede", "thundering herd", "cold cache", "fallback")),
    ),
    follow_up="What would make you take the cache out again?",
)

STAR_QUESTION = BankQuestion(
    id="behavioral-mid-01",
    track="behavioral",
    level="mid",
    topics=("conflict",),
    text="Tell me about a time you disagreed with a teammate about a technical decision.",
    points=(
        BankPoint("Situation: the disagreement and its context", ("at the time", "we were")),
        BankPoint("Task: what you needed to achieve", ("my goal", "i needed to", "deadline")),
        BankPoint("Action: how you resolved it", ("i proposed", "i suggested", "i talked")),
        BankPoint("Result: the measurable outcome", ("as a result", "%", "shipped")),
        BankPoint("Reflection: what you learned", ("i learned", "next time", "lesson")),
    ),
    follow_up="How is your relationship with that teammate now?",
)

STRONG_CACHE_ANSWER = (
    "I would put a Redis cache in front of the database, because the endpoint reads far more "
    "than it writes.\n\n"
    "First, I would measure the current p99 latency and the query count so we have a "
    "baseline. Then I would cache the serialized response per customer with a TTL of 60 "
    "seconds, and invalidate the key whenever the underlying row changes, so stale data never "
    "lives longer than a minute. For example, in my last role I built exactly this for a "
    "pricing API and we cut p99 latency from 900 ms to 80 ms with a 95% hit rate.\n\n"
    "The trade-off is memory and the risk of a cache stampede when a hot key expires, so I "
    "would add request coalescing and a fallback to the database if Redis is down. Finally, "
    "I would watch the hit rate on a Grafana dashboard for two weeks. In short: cache the "
    "hot reads, invalidate on write, and measure."
)
WEAK_CACHE_ANSWER = "Um, I would basically just add a cache, you know, so it is faster."

STAR_ANSWER = (
    "At the time we were rebuilding the checkout service and a senior teammate wanted to "
    "rewrite it in Go. My goal was to ship the new payment flow before the Black Friday "
    "deadline, six weeks away. I proposed that we keep Python for now and I wrote a one-page "
    "comparison of both options with the risks and the effort. I talked to him one on one "
    "and we agreed to run a two-day spike. As a result we shipped two weeks early and "
    "checkout errors dropped by 30%. I learned that writing the trade-offs down turns an "
    "argument into a decision."
)
RAMBLING_ANSWER = (
    "Disagreements are normal and I think teams should talk about things openly. Everyone "
    "has opinions about technology and it is important to respect them. Communication is key "
    "in every team and it is good to listen to other people and be kind about it."
)
STORY_WITHOUT_RESULT = (
    "When I was at my last company we were choosing a database for a new service. My goal "
    "was to pick something the team could run without a dedicated DBA. I proposed Postgres "
    "and I talked to each engineer about their concerns, and I wrote up the options."
)

VARIED_ANSWERS = (
    STRONG_CACHE_ANSWER,
    WEAK_CACHE_ANSWER,
    STAR_ANSWER,
    RAMBLING_ANSWER,
    "ok",
    "...",
    "   leading and trailing whitespace matter here.   \n\n  ",
    "Caché côté serveur : nous avons réduit la latence de 40 % avec Redis. Ça a marché!",
    "日本語の回答です。Redis を 3 台使いました。キャッシュの有効期限は 60 秒です。",
    "Emoji answer \U0001f680 we shipped it \U0001f389 and latency fell to 20ms \U0001f525",
    "line one\nline two with a ttl\r\nline three\ttabbed\n\n- bullet one\n- bullet two",
    "no punctuation at all just a long stream of words " * 40,
    "We cached it.  " * 300,
    "a" * 1200,
    'He said "use Redis" and I said \u201cno, measure first\u201d, so we measured 3.5x gains.',
    "I\u2019m sure the TTL matters\u2026 right? Yes! It expires after 10 min.",
)


def _scores_by_name(scores: list[CriterionScore]) -> dict[str, CriterionScore]:
    return {score.criterion: score for score in scores}


def _quoted(text: str) -> str:
    match = re.search(r'"([^"]+)"', text)
    assert match is not None, f"no quoted phrase in {text!r}"
    return match.group(1)


# ---------------------------------------------------------------------------- scoring


def test_a_strong_answer_scores_higher_than_a_weak_one_on_every_criterion() -> None:
    """Coverage, structure, specificity and clarity all reward the strong answer."""
    strong = _scores_by_name(score_answer(CACHE_QUESTION, STRONG_CACHE_ANSWER))
    weak = _scores_by_name(score_answer(CACHE_QUESTION, WEAK_CACHE_ANSWER))
    for criterion in CRITERIA:
        assert strong[criterion].value > weak[criterion].value, criterion
    assert strong["coverage"].value == 5
    assert strong["specificity"].value >= 4


def test_scores_come_one_per_criterion_in_order_with_integer_values_from_one_to_five() -> None:
    """Every answer gets exactly the four criteria, in the stored order, within 1..5."""
    for question in (CACHE_QUESTION, STAR_QUESTION):
        for answer in VARIED_ANSWERS:
            scores = score_answer(question, answer)
            assert [score.criterion for score in scores] == list(CRITERIA)
            for score in scores:
                assert isinstance(score.value, int)
                assert 1 <= score.value <= 5, (score, answer[:40])


def test_evidence_is_always_a_short_exact_substring_of_the_answer() -> None:
    """Evidence is quoted from the answer itself, never rewritten, and at most 200 characters."""
    for question in (CACHE_QUESTION, STAR_QUESTION):
        for answer in VARIED_ANSWERS:
            for score in score_answer(question, answer):
                assert score.evidence in answer, (score.criterion, answer[:40])
                assert len(score.evidence) <= EVIDENCE_MAX_CHARS
                assert score.evidence.strip(), (score.criterion, answer[:40])
                assert score.suggestion.endswith("."), score.suggestion


FRAGMENT_TEXT = (
    "Redis|we|I built|40%|3.5x|ms|because|first|then|as a result|ttl|cache|e.g.|S3|p99|the|and"
    "|database|um,|like,|,|:|(|)|-|$5|. |! |? |\n|\n\n|\r\n|\t|  |\u2026|\u3002|\u2019|\u201c"
    '|\u201d|"|\u2014|caf\u00e9|\U0001f680|' + "x" * 40
)
FRAGMENTS = tuple(FRAGMENT_TEXT.split("|"))


def test_evidence_and_follow_up_quotes_stay_verbatim_for_random_answers() -> None:
    """Hundreds of seeded random answers never yield evidence or quotes not in the answer."""
    rng = random.Random(20240601)
    for _ in range(400):
        answer = "".join(
            rng.choice(FRAGMENTS) + rng.choice(("", " ", " ")) for _ in range(rng.randint(0, 120))
        )
        question = rng.choice((CACHE_QUESTION, STAR_QUESTION))
        scores = score_answer(question, answer)
        for score in scores:
            assert 1 <= score.value <= 5
            assert score.evidence in answer
            assert len(score.evidence) <= EVIDENCE_MAX_CHARS
        follow_up = follow_up_text(question, answer, scores)
        if '"' in follow_up:  # redirects and scaffolds quote nothing
            assert _quoted(follow_up) in answer


def test_a_long_sentence_is_cut_at_a_word_boundary_for_evidence() -> None:
    """Evidence from a run-on answer ends on a whole word and is still a substring."""
    answer = "we cached the report rows in redis " * 30
    for score in score_answer(CACHE_QUESTION, answer):
        assert score.evidence in answer
        assert len(score.evidence) <= EVIDENCE_MAX_CHARS
        assert answer[len(score.evidence)] == " "


def test_an_empty_or_blank_answer_scores_one_everywhere_without_evidence() -> None:
    """Nothing said means the lowest score, no evidence and a prompt to answer."""
    for answer in ("", "   ", "\n\t \n"):
        scores = score_answer(CACHE_QUESTION, answer)
        assert [score.value for score in scores] == [1, 1, 1, 1]
        assert all(score.evidence == "" for score in scores)
        assert all("answer" in score.suggestion.lower() for score in scores)


def test_coverage_evidence_is_the_sentence_with_the_first_matched_keyword() -> None:
    """The coverage evidence points at where the candidate first hit a key point."""
    answer = "Speed matters a lot here. We would keep results in Redis for a while. Done."
    coverage = _scores_by_name(score_answer(CACHE_QUESTION, answer))["coverage"]
    assert coverage.evidence == "We would keep results in Redis for a while."


def test_coverage_suggestion_names_the_most_important_missed_point() -> None:
    """The first point in the bank that was missed is named in the suggestion."""
    answer = "I would keep it in Redis and measure the latency before and after."
    coverage = _scores_by_name(score_answer(CACHE_QUESTION, answer))["coverage"]
    assert coverage.value == 3
    assert "Invalidation and staleness" in coverage.suggestion
    assert coverage.suggestion.startswith("Cover")


def test_full_coverage_suggests_going_deeper_on_trade_offs() -> None:
    """With every point covered there is nothing to name, so depth is the advice."""
    coverage = _scores_by_name(score_answer(CACHE_QUESTION, STRONG_CACHE_ANSWER))["coverage"]
    assert "trade-offs" in coverage.suggestion


def test_a_star_story_scores_higher_on_structure_than_a_rambling_one() -> None:
    """Situation, task, action and result cues earn full structure marks on behavioral tracks."""
    star = _scores_by_name(score_answer(STAR_QUESTION, STAR_ANSWER))
    rambling = _scores_by_name(score_answer(STAR_QUESTION, RAMBLING_ANSWER))
    assert star["structure"].value == 5
    assert rambling["structure"].value <= 2
    assert star["coverage"].value > rambling["coverage"].value
    assert star["structure"].evidence in STAR_ANSWER


def test_a_story_without_a_result_is_told_to_add_the_result() -> None:
    """The structure suggestion names the missing STAR element."""
    structure = _scores_by_name(score_answer(STAR_QUESTION, STORY_WITHOUT_RESULT))["structure"]
    assert structure.value == 4
    assert "Result" in structure.suggestion


def test_a_number_counts_as_a_result_in_a_star_story() -> None:
    """A measured outcome without the words "as a result" still completes the story."""
    answer = STORY_WITHOUT_RESULT + " Within a month deploys were 40% faster."
    structure = _scores_by_name(score_answer(STAR_QUESTION, answer))["structure"]
    assert structure.value == 5


def test_technical_structure_rewards_signposting_reasons_and_trade_offs() -> None:
    """First/then, because and trade-off language lift structure on technical tracks."""
    flat = (
        "The cache goes in front of the database and it keeps the rows for a minute and the "
        "endpoint reads from it and it gets faster for the users who call it a lot."
    )
    organised = (
        "First, I would put the cache in front of the database because reads dominate. Then I "
        "would set a short expiry. The trade-off is staleness, for example a price that is a "
        "minute old."
    )
    flat_structure = _scores_by_name(score_answer(CACHE_QUESTION, flat))["structure"]
    organised_structure = _scores_by_name(score_answer(CACHE_QUESTION, organised))["structure"]
    assert organised_structure.value >= 4
    assert flat_structure.value <= 2
    assert "first" in flat_structure.suggestion.lower()


def test_specificity_asks_for_a_quantified_result_when_there_are_no_numbers() -> None:
    """Vague answers are asked for a number; numbers and names raise the score."""
    vague = "I would add some caching so that things get quicker for everyone who uses it."
    vague_score = _scores_by_name(score_answer(CACHE_QUESTION, vague))["specificity"]
    assert vague_score.value <= 2
    assert "quantified" in vague_score.suggestion
    precise = "I built a Redis cache and we cut p99 latency from 900 ms to 80 ms."
    precise_score = _scores_by_name(score_answer(CACHE_QUESTION, precise))["specificity"]
    assert precise_score.value > vague_score.value
    assert precise_score.evidence == precise


def test_filler_words_lower_clarity_and_are_named_in_the_suggestion() -> None:
    """An answer full of "basically" and "you know" loses clarity marks and is told why."""
    clean = STRONG_CACHE_ANSWER
    padded = re.sub(r"\. ", ". Basically, you know, ", STRONG_CACHE_ANSWER)
    clean_clarity = _scores_by_name(score_answer(CACHE_QUESTION, clean))["clarity"]
    padded_clarity = _scores_by_name(score_answer(CACHE_QUESTION, padded))["clarity"]
    assert padded_clarity.value < clean_clarity.value
    assert "filler" in padded_clarity.suggestion
    assert '"basically"' in padded_clarity.suggestion or '"you know"' in padded_clarity.suggestion


def test_like_is_not_a_filler_when_it_introduces_an_example() -> None:
    """Saying "something like Redis" is content, not filler."""
    answer = (
        "I would use something like Redis in front of the database, because it looks like "
        "the reads repeat. First I would measure the latency, then set a TTL of sixty "
        "seconds, and finally watch the hit rate for a week to see that it worked as planned."
    )
    clarity = _scores_by_name(score_answer(CACHE_QUESTION, answer))["clarity"]
    assert "filler" not in clarity.suggestion


def test_a_very_short_answer_is_told_to_expand_and_a_very_long_one_to_cut() -> None:
    """Length outside the comfortable range costs clarity with a matching suggestion."""
    short = _scores_by_name(score_answer(CACHE_QUESTION, "Use Redis with a TTL."))["clarity"]
    assert short.value <= 2
    assert short.suggestion.startswith("Expand")
    long_answer = " ".join([STRONG_CACHE_ANSWER] * 4)
    long_clarity = _scores_by_name(score_answer(CACHE_QUESTION, long_answer))["clarity"]
    assert long_clarity.value < 5
    assert long_clarity.suggestion.startswith("Cut")


# ---------------------------------------------------------------------------- follow-ups


def test_a_follow_up_is_needed_for_a_vague_or_a_strong_answer_but_not_an_empty_one() -> None:
    """Low coverage or specificity triggers a follow-up, and so does a strong answer (it is
    probed one level deeper); a blank answer never does."""
    for answer, expected in ((WEAK_CACHE_ANSWER, True), (STRONG_CACHE_ANSWER, True), ("", False)):
        scores = score_answer(CACHE_QUESTION, answer)
        assert needs_follow_up(CACHE_QUESTION, answer, scores) is expected, answer


def test_a_follow_up_quotes_the_candidates_own_words_verbatim() -> None:
    """The quoted phrase is copied from the answer and is three to fourteen words long."""
    quoted_any = 0
    for question in (CACHE_QUESTION, STAR_QUESTION):
        for answer in VARIED_ANSWERS:
            text = follow_up_text(question, answer, score_answer(question, answer))
            if '"' not in text:
                continue
            quoted_any += 1
            phrase = _quoted(text)
            assert phrase in answer, (phrase, answer[:40])
            assert 3 <= len(phrase.split()) <= MAX_QUOTE_WORDS, phrase
            assert text.endswith(("?", "."))
    assert quoted_any >= 8  # the others are redirected (off topic) or asked for English


def test_a_follow_up_quotes_the_most_specific_part_of_the_answer() -> None:
    """Numbers and named tools are what the interviewer picks up on."""
    answer = "I think caching helps in general. We moved the sessions to Redis and saved 200 ms."
    phrase = _quoted(follow_up_text(CACHE_QUESTION, answer, score_answer(CACHE_QUESTION, answer)))
    assert "200" in phrase or "Redis" in phrase


def test_a_follow_up_steers_without_naming_a_missed_point_when_coverage_is_low() -> None:
    """With most points missed, the follow-up asks for more without giving the answer away."""
    answer = "I would put the hot rows in Redis so repeated reads stop hitting the database."
    scores = score_answer(CACHE_QUESTION, answer)
    assert _scores_by_name(scores)["coverage"].value <= 2
    text = follow_up_text(CACHE_QUESTION, answer, scores)
    assert _quoted(text) in answer
    assert "invalidation" not in text.lower()
    assert "stale" not in text.lower()


def test_a_behavioral_follow_up_asks_for_the_missing_star_element() -> None:
    """A story that never says how it ended is asked how it turned out."""
    answer = "At the time we were arguing about the database choice for weeks on end."
    scores = score_answer(STAR_QUESTION, answer)
    text = follow_up_text(STAR_QUESTION, answer, scores)
    assert _quoted(text) in answer
    assert "responsible" in text  # the task was the first STAR element missed


def test_a_follow_up_falls_back_to_the_bank_question_when_the_answer_is_too_short() -> None:
    """Nothing worth quoting means the curated follow-up is used."""
    for answer in ("", "Redis."):
        scores = score_answer(CACHE_QUESTION, answer)
        assert follow_up_text(CACHE_QUESTION, answer, scores) == CACHE_QUESTION.follow_up


def test_a_follow_up_is_deterministic_and_its_wording_varies_across_answers() -> None:
    """The same answer always gets the same follow-up; different answers get different openers."""
    answers = [
        f"We moved the queue to Redis in sprint {n} and cut latency by {n}0 ms."
        for n in range(1, 13)
    ]
    openers = set()
    for answer in answers:
        scores = score_answer(CACHE_QUESTION, answer)
        first = follow_up_text(CACHE_QUESTION, answer, scores)
        assert first == follow_up_text(CACHE_QUESTION, answer, scores)
        openers.add(first.split('"')[0])
    assert len(openers) >= 2


# ---------------------------------------------------------------------------- selection


def _bank_question(
    question_id: str, level: str, topics: tuple[str, ...], text: str
) -> BankQuestion:
    return BankQuestion(
        id=question_id,
        track="backend",
        level=level,
        topics=topics,
        text=text,
        points=CACHE_QUESTION.points,
        follow_up="Why?",
    )


SELECTION_BANK = {
    "backend": [
        _bank_question("j1", "junior", ("http",), "What happens when a request arrives?"),
        _bank_question("j2", "junior", ("databases",), "What is an index?"),
        _bank_question("j3", "junior", ("caching",), "What is a cache for?"),
        _bank_question("j4", "junior", ("testing",), "How do you test an endpoint?"),
        _bank_question("m1", "mid", ("queues",), "How would you design a job queue?"),
        _bank_question("m2", "mid", ("security",), "How do you store passwords?"),
        _bank_question("m3", "mid", ("apis",), "How do you version an API with caching headers?"),
        _bank_question("s1", "senior", ("system-design",), "Design a URL shortener."),
        _bank_question("s2", "senior", ("reliability",), "How do you run an incident review?"),
    ],
    "product": [],
}


def _ids(questions: list[BankQuestion]) -> list[str]:
    return [question.id for question in questions]


def test_selection_is_deterministic_for_a_seed_and_varies_across_seeds() -> None:
    """The same seed replays the same interview; different seeds shuffle differently."""

    def pick(seed: str) -> list[str]:
        chosen = select_questions(
            SELECTION_BANK, track="backend", level="junior", topics=[], count=3, seed=seed
        )
        return _ids(chosen)

    assert pick("interview-42") == pick("interview-42")
    assert len({tuple(pick(f"seed-{n}")) for n in range(20)}) > 1


def test_selection_returns_distinct_questions_at_the_requested_level() -> None:
    """With enough questions at the level, only that level is used and nothing repeats."""
    for seed in ("a", "b", "c"):
        chosen = select_questions(
            SELECTION_BANK, track="backend", level="junior", topics=[], count=4, seed=seed
        )
        assert len(set(_ids(chosen))) == 4
        assert {question.level for question in chosen} == {"junior"}


def test_selection_prefers_questions_matching_the_topics_by_tag_or_by_word_in_the_text() -> None:
    """Topic tags match case-insensitively, and a topic word in the question text counts too."""
    for seed in ("a", "b", "c", "d"):
        chosen = select_questions(
            SELECTION_BANK, track="backend", level="junior", topics=["CACHING"], count=1, seed=seed
        )
        assert _ids(chosen) == ["j3"]
        by_text = select_questions(
            SELECTION_BANK, track="backend", level="mid", topics=["caching"], count=1, seed=seed
        )
        assert _ids(by_text) == ["m3"]
        hyphenated = select_questions(
            SELECTION_BANK,
            track="backend",
            level="senior",
            topics=["System Design"],
            count=1,
            seed=seed,
        )
        assert _ids(hyphenated) == ["s1"]


def test_selection_fills_from_mid_before_the_other_level() -> None:
    """Short of senior questions, mid comes next and junior last."""
    chosen = select_questions(
        SELECTION_BANK, track="backend", level="senior", topics=[], count=6, seed="x"
    )
    levels = [question.level for question in chosen]
    assert levels == ["senior", "senior", "mid", "mid", "mid", "junior"]
    from_junior = select_questions(
        SELECTION_BANK, track="backend", level="junior", topics=[], count=6, seed="x"
    )
    assert [question.level for question in from_junior] == ["junior"] * 4 + ["mid"] * 2


def test_selection_returns_the_whole_track_when_asked_for_more_than_it_has() -> None:
    """Asking for too many gives every question once rather than repeating any."""
    chosen = select_questions(
        SELECTION_BANK, track="backend", level="mid", topics=[], count=50, seed="x"
    )
    assert sorted(_ids(chosen)) == sorted(_ids(SELECTION_BANK["backend"]))
    empty = select_questions(
        SELECTION_BANK, track="product", level="mid", topics=[], count=3, seed="x"
    )
    assert empty == []


def test_selection_rejects_an_unknown_track_or_level() -> None:
    """A typo in the track or level is a clear ValueError, not an empty interview."""
    with pytest.raises(ValueError, match="Unknown track 'backnd'"):
        select_questions(SELECTION_BANK, track="backnd", level="mid", topics=[], count=1, seed="")
    with pytest.raises(ValueError, match="Unknown level 'principal'"):
        select_questions(
            SELECTION_BANK, track="backend", level="principal", topics=[], count=1, seed=""
        )


# ---------------------------------------------------------------------------- loading the bank

VALID_QUESTION = """
[[question]]
id = "backend-junior-01"
level = "junior"
topics = ["http", "apis"]
text = "Walk me through what happens when a request reaches your API."
points = [
  { point = "Routing and request parsing", keywords = ["route", "Router", "endpoint"] },
  { point = "Validation", keywords = ["validat", "schema"] },
  { point = "Serialization", keywords = ["json", "status code"] },
]
follow_up = "Which part has caused you the most trouble?"
"""

STAR_TOML = """
track = "behavioral"
version = 1

[[question]]
id = "behavioral-junior-01"
level = "junior"
topics = ["learning"]
text = "Tell me about a time you learned something quickly."
points = [
  { point = "Situation: context", keywords = ["at the time"] },
  { point = "Task: the goal", keywords = ["my goal"] },
  { point = "Action: what you did", keywords = ["i read"] },
  { point = "Result: what happened", keywords = ["result"] },
]
follow_up = "What would you do differently?"
"""


def _write_bank(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content, encoding="utf-8")
    return directory


def test_load_bank_reads_valid_files_into_questions_per_track(tmp_path: Path) -> None:
    """Each file's questions land under its track, with keywords lowercased for matching."""
    backend = 'track = "backend"\nversion = 1\n' + VALID_QUESTION
    bank = load_bank(_write_bank(tmp_path, {"backend.toml": backend, "behavioral.toml": STAR_TOML}))
    assert sorted(bank) == ["backend", "behavioral"]
    question = bank["backend"][0]
    assert question.id == "backend-junior-01"
    assert question.track == "backend"
    assert question.topics == ("http", "apis")
    assert question.points[0].keywords == ("route", "router", "endpoint")
    assert bank["behavioral"][0].points[3].point == "Result: what happened"


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (VALID_QUESTION.replace('level = "junior"', 'level = "expert"'), "level"),
        (
            VALID_QUESTION.replace('follow_up = "Which part has caused you the most trouble?"', ""),
            "follow_up",
        ),
        (
            VALID_QUESTION.replace(
                '  { point = "Validation", keywords = ["validat", "schema"] },\n', ""
            ),
            "points",
        ),
        (VALID_QUESTION.replace('["json", "status code"]', "[]"), "keywords"),
        (
            VALID_QUESTION.replace('topics = ["http", "apis"]', 'topics = ["http"]\ntopic = "x"'),
            "unknown keys",
        ),
    ],
)
def test_load_bank_names_the_file_and_question_when_a_question_is_malformed(
    tmp_path: Path, broken: str, problem: str
) -> None:
    """The error says which file, which question id and what is wrong."""
    content = 'track = "backend"\nversion = 1\n' + broken
    directory = _write_bank(tmp_path, {"backend.toml": content})
    with pytest.raises(BankError) as caught:
        load_bank(directory)
    message = str(caught.value)
    assert "backend.toml" in message
    assert "backend-junior-01" in message
    assert problem in message


def test_load_bank_rejects_an_unknown_track_or_version(tmp_path: Path) -> None:
    """The file header is checked before any question."""
    bad_track = 'track = "sales"\nversion = 1\n' + VALID_QUESTION
    with pytest.raises(BankError, match=r"sales\.toml: track must be one of"):
        load_bank(_write_bank(tmp_path / "a", {"sales.toml": bad_track}))
    bad_version = 'track = "backend"\nversion = 2\n' + VALID_QUESTION
    with pytest.raises(BankError, match="version must be 1"):
        load_bank(_write_bank(tmp_path / "b", {"backend.toml": bad_version}))


def test_load_bank_rejects_duplicate_ids_across_files(tmp_path: Path) -> None:
    """An id used twice names both files."""
    content = 'track = "backend"\nversion = 1\n' + VALID_QUESTION
    directory = _write_bank(tmp_path, {"a.toml": content, "b.toml": content})
    with pytest.raises(BankError, match=r"b\.toml: question 'backend-junior-01': duplicate id"):
        load_bank(directory)


def test_load_bank_rejects_invalid_toml_and_a_missing_or_empty_directory(tmp_path: Path) -> None:
    """Syntax errors and absent files fail loudly with the path."""
    with pytest.raises(BankError, match=r"broken\.toml: not valid TOML"):
        load_bank(_write_bank(tmp_path / "a", {"broken.toml": "track = "}))
    with pytest.raises(BankError, match="does not exist"):
        load_bank(tmp_path / "missing")
    with pytest.raises(BankError, match=r"no \.toml question files"):
        load_bank(_write_bank(tmp_path / "empty", {}))


def test_load_bank_requires_star_points_for_behavioral_questions(tmp_path: Path) -> None:
    """Behavioral points must be the STAR elements, named at the start of each point."""
    without_result = STAR_TOML.replace("Result: what happened", "Outcome: what happened")
    directory = _write_bank(tmp_path, {"behavioral.toml": without_result})
    with pytest.raises(BankError, match=r"behavioral-junior-01.*Outcome"):
        load_bank(directory)


# ---------------------------------------------------------------------------- reports


def _turn(
    question: BankQuestion, answer: str | None
) -> tuple[BankQuestion, str | None, list[CriterionScore]]:
    return question, answer, score_answer(question, answer) if answer else []


def test_report_has_three_next_steps_and_an_overall_score_in_range() -> None:
    """Whatever the interview, the report has an in-range score and exactly three steps."""
    interviews = [
        [_turn(CACHE_QUESTION, STRONG_CACHE_ANSWER)],
        [_turn(CACHE_QUESTION, WEAK_CACHE_ANSWER)],
        [_turn(CACHE_QUESTION, STRONG_CACHE_ANSWER), _turn(CACHE_QUESTION, None)],
        [_turn(STAR_QUESTION, STAR_ANSWER), _turn(STAR_QUESTION, RAMBLING_ANSWER)],
        [_turn(CACHE_QUESTION, answer) for answer in VARIED_ANSWERS],
    ]
    for turns in interviews:
        report = build_report(turns, track="backend")
        assert 1.0 <= report.overall_score <= 5.0
        assert report.overall_score == round(report.overall_score, 1)
        assert len(report.next_steps) == 3
        assert len(set(report.next_steps)) == 3
        assert len(report.strengths) <= 3
        assert len(report.weaknesses) <= 3


def test_report_counts_skipped_and_timed_out_turns_as_one() -> None:
    """The overall score is the mean of turn averages, with a skipped turn averaging 1.0."""
    answered = _turn(CACHE_QUESTION, STRONG_CACHE_ANSWER)
    answered_mean = sum(score.value for score in answered[2]) / len(CRITERIA)
    turns = [answered, _turn(CACHE_QUESTION, None), (CACHE_QUESTION, "   ", [])]
    report = build_report(turns, track="backend")
    assert report.overall_score == round((answered_mean + 1.0 + 1.0) / 3, 1)
    assert any("skipped or ran out of time on 2 of 3" in text for text in report.weaknesses)


def test_a_strong_interview_scores_above_a_weak_one() -> None:
    """The overall score follows the quality of the answers."""
    strong = build_report([_turn(CACHE_QUESTION, STRONG_CACHE_ANSWER)] * 3, track="backend")
    weak = build_report([_turn(CACHE_QUESTION, WEAK_CACHE_ANSWER)] * 3, track="backend")
    assert strong.overall_score >= 4.0
    assert weak.overall_score <= 1.5
    assert strong.strengths
    assert weak.weaknesses


def test_a_report_with_no_answers_says_so_honestly() -> None:
    """No answers means the lowest score, no invented strengths and still three steps."""
    for turns in ([], [_turn(CACHE_QUESTION, None), _turn(CACHE_QUESTION, "")]):
        report = build_report(turns, track="data_ml")
        assert report.overall_score == 1.0
        assert report.strengths == []
        assert "No answers were given" in report.weaknesses[0]
        assert len(report.next_steps) == 3
        assert "data and ML" in report.next_steps[0]


def test_report_cites_evidence_in_strengths_and_missed_points_in_next_steps() -> None:
    """Strengths quote the candidate; next steps name the points they keep missing."""
    partial = "I would put the hot rows in Redis so repeated reads stop hitting the database."
    turns = [_turn(CACHE_QUESTION, STRONG_CACHE_ANSWER), _turn(CACHE_QUESTION, partial)]
    turns += [_turn(CACHE_QUESTION, partial)]
    report = build_report(turns, track="backend")
    quotes = [_quoted(text) for text in report.strengths if '"' in text]
    assert quotes
    for quote in quotes:
        assert quote.removesuffix("...") in STRONG_CACHE_ANSWER + partial
    assert any("Invalidation and staleness" in step for step in report.next_steps)


def test_report_names_missed_points_when_coverage_is_the_weakest_area() -> None:
    """A fluent but off-topic answer is told which key points it left out."""
    report = build_report([_turn(CACHE_QUESTION, STAR_ANSWER)] * 2, track="backend")
    assert "Where the cache lives" in report.weaknesses[0]
    assert "Where the cache lives" in report.next_steps[0]


def test_report_for_a_behavioral_interview_names_the_missing_star_element() -> None:
    """Stories that never land get a weakness about the result and a STAR practice step."""
    turns = [_turn(STAR_QUESTION, STORY_WITHOUT_RESULT), _turn(STAR_QUESTION, RAMBLING_ANSWER)]
    report = build_report(turns, track="behavioral")
    assert any("STAR" in step for step in report.next_steps)


def test_report_text_is_plain_sentences_without_markdown() -> None:
    """Every line is a plain sentence: no bullets, headings, bold or backticks."""
    turns = [_turn(CACHE_QUESTION, answer) for answer in VARIED_ANSWERS[:6]]
    turns.append(_turn(CACHE_QUESTION, None))
    report = build_report(turns, track="backend")
    for text in report.strengths + report.weaknesses + report.next_steps:
        assert not re.search(r"\*\*|`|^#|^[-*] ", text), text
        assert text[0].isupper() and text.endswith("."), text


# ---------------------------------------------------------------------------- the real bank


def test_the_real_question_bank_loads_and_every_question_can_be_scored() -> None:
    """The five shipped track files hold at least 150 questions, and every one scores."""
    assert BANK_DIR == REAL_BANK  # the interviewer's default: package data under server/
    bank = load_bank(REAL_BANK)
    assert sorted(bank) == sorted(TRACKS)
    assert sum(len(questions) for questions in bank.values()) >= 150
    for questions in bank.values():
        for question in questions:
            answer = " ".join(
                f"We rely on {_keyword_beyond_the_question(question, point)} because it matters."
                for point in question.points
            )
            scores = score_answer(question, answer)
            assert [score.criterion for score in scores] == list(CRITERIA)
            assert _scores_by_name(scores)["coverage"].value == 5, question.id
            assert all(score.evidence in answer for score in scores)
            follow_up = follow_up_text(question, answer, scores)
            assert follow_up


def _keyword_beyond_the_question(question: BankQuestion, point: BankPoint) -> str:
    """A keyword of ``point`` that is not just a word of the question (those earn nothing)."""
    asked = set(content_stems(words_of(question.text)))
    return next(
        (k for k in point.keywords if not set(content_stems(words_of(k))) <= asked),
        point.keywords[0],
    )
