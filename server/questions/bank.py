"""``QuestionBank``: the interviewers' question source, kept in memory from the database.

Running interviews never see an edit. Each interview's main questions are chosen once, from
the active questions, and their content is *pinned*: written to ``interview_plan`` as they
were then (an INSERT that does nothing if the interview already has a plan). Every later
lookup for that interview (the question to ask, its points when scoring, its follow-up, the
report) resolves against that snapshot, in whichever process runs the interview, after a
takeover or a restart too: the engine asks for a plan again whenever a runner starts, and the
stored one comes back. So an edit or a retirement changes what *new* interviews get, never
what a running one asks next, and a retired question stays readable by id.

A new interview costs no SELECT: its plan is chosen from memory and inserted (only a takeover
reads the stored plan, after its INSERT found one). The in-memory bank is reloaded when an
admin changes it: at once in the process that made the change, and in the others within
``poll_s``, through a generation number in the live store's counters that every change
sets to a fresh random value after its commit. Planning reads that number at most once per
``poll_s`` (one live-store read, not a database query) and reloads when it differs.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.live.base import Counters
from server.llm.base import InterviewBrief
from server.llm.offline.bank import (
    TRACKS,
    BankMisconception,
    BankPoint,
    BankQuestion,
    QuestionSource,
    plan_questions,
)
from server.store.models import InterviewPlan, Question

log = logging.getLogger(__name__)

GENERATION_KEY = "question-bank:generation"
GENERATION_TTL_S = 30 * 24 * 3600  # if it expires, every process reloads once: harmless
POLL_S = 2.0
PLANS_KEPT = 4096  # pinned plans kept in memory (the interviews this process runs, and more)


def as_bank_question(row: Question) -> BankQuestion:
    """The interviewers' view of a stored question."""
    return BankQuestion(
        id=row.id,
        track=row.track.value,
        level=row.level.value,
        topics=tuple(row.topics),
        text=row.text,
        points=tuple(
            BankPoint(point=p["point"], keywords=tuple(p["keywords"])) for p in row.points
        ),
        follow_up=row.follow_up,
        version=row.version,
        model_answer=tuple(row.model_answer or ()),
        misconceptions=tuple(
            BankMisconception(m["claim"], tuple(m["cues"]), m.get("challenge", ""))
            for m in row.misconceptions or ()
        ),
    )


class QuestionBank(QuestionSource):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        counters: Counters,
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.counters = counters
        self.poll_s = poll_s
        self._active: dict[str, list[BankQuestion]] = {track: [] for track in TRACKS}
        self._by_id: dict[str, BankQuestion] = {}  # retired ones included
        self._generation: int | None = None
        self._loaded = False
        self._next_poll = 0.0
        self._lock = asyncio.Lock()
        self._plans: OrderedDict[str, tuple[BankQuestion, ...]] = OrderedDict()

    # --- keeping the bank current -----------------------------------------------------------

    async def load(self) -> None:
        """Read the whole bank from the database, and the generation it is at."""
        # The generation first: a change committed after the rows are read sets a new one
        # after that, so the next poll reloads again.
        generation = await self.counters.get_int(GENERATION_KEY)
        async with self.sessionmaker() as session:
            rows = (await session.scalars(select(Question).order_by(Question.id))).all()
        active: dict[str, list[BankQuestion]] = {track: [] for track in TRACKS}
        by_id: dict[str, BankQuestion] = {}
        for row in rows:
            question = as_bank_question(row)
            by_id[question.id] = question
            if row.retired_at is None:
                active.setdefault(question.track, []).append(question)
        self._active, self._by_id = active, by_id
        self._generation = generation
        self._loaded = True
        self._next_poll = time.monotonic() + self.poll_s

    async def start(self) -> None:
        """Load at start-up, so the first interview reads nothing from the database; if the
        database is not reachable yet, the first plan loads it instead."""
        try:
            async with self._lock:
                await self.load()
        except Exception as exc:
            log.warning("could not load the question bank yet", extra={"error": repr(exc)})

    async def refresh(self) -> None:
        """Reload if another process changed the bank (asked at most once per ``poll_s``)."""
        if self._loaded and time.monotonic() < self._next_poll:
            return
        async with self._lock:
            if not self._loaded:
                await self.load()  # nothing to plan from: a failure here fails the plan
                return
            if time.monotonic() < self._next_poll:
                return
            self._next_poll = time.monotonic() + self.poll_s
            try:
                if await self.counters.get_int(GENERATION_KEY) != self._generation:
                    await self.load()
            except Exception as exc:  # keep planning from what is loaded
                log.warning("could not refresh the question bank", extra={"error": repr(exc)})

    async def changed(self) -> None:
        """An admin's change was committed: reload here now, and tell the other processes."""
        try:
            await self.counters.set_int(GENERATION_KEY, secrets.randbits(62), GENERATION_TTL_S)
        except Exception as exc:
            log.warning(
                "could not announce a question bank change; other processes see it at the "
                "next change",
                extra={"error": repr(exc)},
            )
        async with self._lock:
            await self.load()

    # --- the interviewers' side ---------------------------------------------------------

    async def plan(self, brief: InterviewBrief) -> list[BankQuestion]:
        pinned = self._remembered(brief.interview_id)
        if pinned is None:
            await self.refresh()
            pinned = await self._pin(brief.interview_id, plan_questions(self._active, brief))
            self._remember(brief.interview_id, pinned)
        return list(pinned)

    async def question(self, interview_id: str, question_id: str | None) -> BankQuestion | None:
        if not question_id:
            return None
        pinned = self._remembered(interview_id)
        if pinned is None:
            pinned = await self._stored_plan(interview_id)
            if pinned is not None:
                self._remember(interview_id, pinned)
        for question in pinned or ():
            if question.id == question_id:
                return question
        # Not planned here (an interview planned before the bank had plans): as it is now.
        return self._by_id.get(question_id)

    async def _pin(self, interview_id: str, chosen: list[BankQuestion]) -> tuple[BankQuestion, ...]:
        """Store ``chosen`` as the interview's plan, unless it has one: then that one."""
        snapshot = [question.as_dict() for question in chosen]
        try:
            async with self.sessionmaker() as session:
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                inserted = await session.scalar(
                    insert(InterviewPlan)
                    .values(interview_id=uuid.UUID(interview_id), questions=snapshot)
                    .on_conflict_do_nothing(index_elements=["interview_id"])
                    .returning(InterviewPlan.interview_id)
                )
                await session.commit()
            if inserted is not None:
                return tuple(chosen)
            stored = await self._stored_plan(interview_id)
            return stored or tuple(chosen)
        except IntegrityError:
            return tuple(chosen)  # the interview was deleted meanwhile: nothing to keep
        except Exception as exc:
            # The interview goes on; only a takeover after an edit could then re-plan it.
            log.warning(
                "could not pin the interview's questions",
                extra={"interview_id": interview_id, "error": repr(exc)},
            )
            return tuple(chosen)

    async def _stored_plan(self, interview_id: str) -> tuple[BankQuestion, ...] | None:
        """The interview's pinned questions (none if it has no plan); None if unreadable."""
        try:
            key = uuid.UUID(interview_id)
        except ValueError:
            return ()
        try:
            async with self.sessionmaker() as session:
                stored: list[dict[str, Any]] | None = await session.scalar(
                    select(InterviewPlan.questions).where(InterviewPlan.interview_id == key)
                )
        except Exception as exc:
            log.warning(
                "could not read the interview's planned questions",
                extra={"interview_id": interview_id, "error": repr(exc)},
            )
            return None
        return tuple(BankQuestion.from_dict(item) for item in stored or ())

    def _remembered(self, interview_id: str) -> tuple[BankQuestion, ...] | None:
        pinned = self._plans.get(interview_id)
        if pinned is not None:
            self._plans.move_to_end(interview_id)
        return pinned

    def _remember(self, interview_id: str, pinned: tuple[BankQuestion, ...]) -> None:
        self._plans[interview_id] = pinned
        self._plans.move_to_end(interview_id)
        while len(self._plans) > PLANS_KEPT:
            self._plans.popitem(last=False)
