"""What a job description and a résumé are about, in the question bank's words: a light
keyword extractor, and which of those terms each bank question targets (for planning)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the bank imports this module to plan: no import back at run time
    from server.llm.base import InterviewBrief
    from server.llm.offline.bank import BankQuestion

MAX_TERMS = 30
# The job is what the interview is for; the résumé says where to probe. Its matches count
# less, and at most as much as one topic does, so the job description leads.
RESUME_WEIGHT = 0.6
# Where a term is found in a question, and how much that says about what the question asks.
TOPIC_WEIGHT, TEXT_WEIGHT, POINT_WEIGHT = 3.0, 2.0, 1.0

_TOKEN = re.compile(r"[a-z0-9][a-z0-9+#./-]*[a-z0-9+#]|[a-z0-9]")
_WORD = re.compile(r"[a-z0-9+#]+")
_STOPWORDS = frozenset(
    """
    a about above across after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each
    either etc few for from further get gets had has have having he her here hers him his how
    i if in into is it its itself just let like may me might more most must my no nor not now
    of off on once one only or other our ours out over own per same she should so some such
    than that the their them then there these they this those through to too under until up
    upon us very via was we well were what when where which while who whom why will with
    within without would yet you your yours
    ability able account across act actively additional advantage ago along already always
    apply applying area areas around based benefit benefits best better bonus both build
    building candidate candidates career closely company competitive complex comfortable
    contribute culture day days deep degree deliver demonstrated desire detail develop
    developing different drive driven duties eager effective effectively employer employment
    enjoy ensure environment equal equivalent excellent excited experience experienced
    expertise fast field first focus focused global good great grow growing growth-minded
    hands hands-on help helping high highly hire hiring-manager ideal ideally impact include
    includes including independently interest join joining key knowledge large least level
    life looking love make making many means meet member members minimum mission month months
    motivated much multiple need needed needs new next nice offer office opportunity
    opportunities part passion passionate people plus position preferred prior proficiency
    proficient proven qualifications related relevant remote required requirements
    responsibilities responsible role roles salary self senior skill skilled skills solid
    solve someone start startup strong success successful superb take team teams things
    three together top two understanding use used using value values various want way ways
    we're who'll will work worked working works world year years you'll you're
    backend frontend fullstack engineer engineers engineering developer developers software
    """.split()
)
# Words a job description names on purpose: kept even when they occur once.
_KNOWN = frozenset(
    """
    accessibility airflow analytics android angular ansible api apis architecture async auth
    authentication authorization aws azure bigquery c# c++ cache caching cassandra
    celery ci ci/cd cloud clickhouse compliance concurrency consistency containers css dashboards
    database databases dbt debugging deployment distributed django docker dynamodb elasticsearch
    embeddings etl experimentation fastapi feature figma flask forecasting gcp git go
    golang grafana graphql grpc hadoop html http indexing ios java javascript jenkins jest
    kafka kotlin kubernetes k8s latency leadership linux llm llms looker memcached mentoring
    messaging metrics microservices migrations ml mlflow mlops mobile mongodb monitoring mysql
    networking next.js nginx nlp node node.js nosql numpy oauth observability okrs onboarding
    pandas performance php postgres postgresql pricing prioritization prometheus
    python pytorch queues rabbitmq rag react react.js recommendation redis redux regression
    reliability rest retention roadmap ruby rust s3 scala scalability scikit-learn security
    seo sharding sklearn snowflake spark sql sre stakeholders statistics streaming swift
    tableau terraform testing tensorflow transactions typescript vue webpack
    """.split()
)
_PHRASES = (
    "a/b testing",
    "ab testing",
    "code review",
    "data pipeline",
    "data pipelines",
    "data quality",
    "design systems",
    "distributed systems",
    "feature engineering",
    "go to market",
    "incident response",
    "machine learning",
    "product sense",
    "rate limiting",
    "real time",
    "system design",
    "technical debt",
    "tech debt",
    "time series",
    "user research",
)
# A job description's word for what the bank calls something else.
_ALIASES = {
    "k8s": "kubernetes",
    "postgresql": "postgres",
    "golang": "go",
    "node.js": "node",
    "react.js": "react",
    "next.js": "react",
    "ci/cd": "ci",
    "ab testing": "experimentation",
    "a/b testing": "experimentation",
    "technical debt": "tech debt",
    "sre": "reliability",
    "authentication": "auth",
    "authorization": "auth",
    "llm": "llms",
}
_NOT_NOUNS = re.compile(r"(?:ly|ful|ous|ive|ize|ise|ate)$")


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # as it reads in the job description or résumé (lower case)
    source: Literal["job", "resume"] = "job"


def _stem(word: str) -> str:
    """Enough to make 'caching', 'caches' and 'cache' one word; applied to both sides."""
    for suffix in ("ing", "ies", "es", "ed", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[-_]", " ", text.lower().replace("\u2019", "'")).split())


def extract_terms(
    text: str, *, source: Literal["job", "resume"] = "job", limit: int = MAX_TERMS
) -> list[Term]:
    """The topic terms of ``text``: known phrases and technical terms, then words that come up
    at least twice and look like nouns; stopwords and job-ad boilerplate dropped. The most
    frequent first (ties: the first mentioned)."""
    normalised = _normalise(text)
    if not normalised:
        return []
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for phrase in _PHRASES:
        for match in re.finditer(rf"(?<![\w/]){re.escape(phrase)}(?![\w/])", normalised):
            counts[phrase] += 1
            first_seen.setdefault(phrase, match.start())
    for match in _TOKEN.finditer(normalised):
        token = match.group().rstrip(".")
        parts = [token, *token.split("/")] if "/" in token and token not in _KNOWN else [token]
        for part in parts:
            if part in _STOPWORDS or part.isdigit() or len(part) < 2:
                continue
            counts[part] += 1
            first_seen.setdefault(part, match.start())
    kept = [
        term
        for term, count in counts.items()
        if term in _KNOWN
        or term in _PHRASES
        or (count >= 2 and len(term) >= 4 and term.isalpha() and not _NOT_NOUNS.search(term))
    ]
    kept.sort(key=lambda term: (-counts[term], term not in _KNOWN, first_seen[term]))
    return [Term(term, source) for term in kept[:limit]]


def brief_terms(brief: InterviewBrief) -> list[Term]:
    """The job description's terms, then the résumé's (weighed less); none without either."""
    terms = extract_terms(brief.job_description)
    seen = {term.text for term in terms}
    terms += [
        term for term in extract_terms(brief.resume_text, source="resume") if term.text not in seen
    ]
    return terms


@dataclass(frozen=True, slots=True)
class _Places:
    """A question's words (stemmed) and text, where a term may be found, strongest first."""

    places: tuple[tuple[float, frozenset[str], str], ...]


@lru_cache(maxsize=2048)
def _places(question: BankQuestion) -> _Places:
    def place(weight: float, texts: Sequence[str]) -> tuple[float, frozenset[str], str]:
        normalised = [_normalise(text) for text in texts]
        words = frozenset(_stem(w) for text in normalised for w in _WORD.findall(text))
        return weight, words, " | ".join(normalised)

    points = [p.point for p in question.points] + [k for p in question.points for k in p.keywords]
    return _Places(
        (
            place(TOPIC_WEIGHT, question.topics),
            place(TEXT_WEIGHT, [question.text]),
            place(POINT_WEIGHT, points),
        )
    )


def _match_weight(term: str, question: BankQuestion) -> float:
    """How strongly ``question`` is about ``term``: as a topic, in its text, in its points."""
    wanted = _normalise(_ALIASES.get(term, term))
    words = {_stem(word) for word in _WORD.findall(wanted)}
    if not words:
        return 0.0
    phrase = re.compile(rf"(?<!\w){re.escape(wanted)}(?!\w)") if " " in wanted else None
    for weight, known, text in _places(question).places:
        if phrase.search(text) if phrase is not None else words <= known:
            return weight
    return 0.0


def targets(question: BankQuestion, terms: Sequence[Term]) -> tuple[str, ...]:
    """The terms ``question`` targets, the strongest match first."""
    weight = {"job": 1.0, "resume": RESUME_WEIGHT}
    matched = [(term, _match_weight(term.text, question) * weight[term.source]) for term in terms]
    ranked = sorted(
        ((term, score) for term, score in matched if score > 0),
        key=lambda item: -item[1],
    )
    return tuple(term.text for term, _ in ranked)


def focus_score(question: BankQuestion, terms: Sequence[Term]) -> float:
    """How much of the job description and résumé ``question`` is about (0: nothing)."""
    job = sum(_match_weight(t.text, question) for t in terms if t.source == "job")
    resume = sum(_match_weight(t.text, question) for t in terms if t.source == "resume")
    return job + min(resume, TOPIC_WEIGHT) * RESUME_WEIGHT


def planned_targets(
    questions: Sequence[BankQuestion], brief: InterviewBrief
) -> dict[str, tuple[str, ...]]:
    """For each planned question id, the job description and résumé terms it targets (empty
    without either): what the room can show next to the question."""
    terms = brief_terms(brief)
    return {question.id: targets(question, terms) if terms else () for question in questions}
