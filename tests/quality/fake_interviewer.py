"""A scripted interviewer on the fake Gemini API, for the quality suite's plumbing run: it
asks the planned question, follows up on what the candidate said, scores crudely by what
the answer is, and writes a plain report. Each misbehaviour switch makes it break one rule
of the checklist, so the checklist can be seen to catch it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from server.llm.offline.bank import BankQuestion, FileQuestionSource
from server.llm.offline.meaning import STOPWORDS, words_of
from tests.fakes.gemini import FENCED_ANSWER, FakeGemini, RecordedRequest, Reply, Stream

_QUESTION = re.compile(r"<question>\s*(.*?)\s*</question>", re.DOTALL)


@dataclass
class Misbehaviour:
    two_questions: bool = False  # a main question with a second question tacked on
    leak_point: bool = False  # a main question that says its first expected point
    reward_wrong_claims: bool = False  # a wrong claim scored 5 and not named as wrong
    invent_report_score: bool = False  # the report's text quotes a score nobody gave


class ScriptedInterviewer:
    def __init__(self, fake: FakeGemini, misbehaviour: Misbehaviour | None = None) -> None:
        self.misbehaviour = misbehaviour or Misbehaviour()
        bank = FileQuestionSource().bank
        self._by_text: dict[str, BankQuestion] = {
            q.text: q for questions in bank.values() for q in questions
        }
        fake.forever("stream", self.turn)
        fake.forever("generate", self.generate)

    # --- turns ------------------------------------------------------------------------

    def turn(self, request: RecordedRequest) -> Stream:
        last = _parts_text(request.contents[-1]) if request.contents else ""
        # The planned question is fenced in the task itself (the state block may fence others).
        task = last.rsplit("[Interviewer task]", 1)[-1]
        planned = _QUESTION.findall(task)
        if planned:
            text = f"Thank you. {planned[-1]}"
            if self.misbehaviour.two_questions:
                text += " And what would you do differently next time?"
            bank = self._by_text.get(planned[-1])
            if self.misbehaviour.leak_point and bank is not None and bank.points:
                text += f" A strong answer mentions {bank.points[0].point.lower()}."
            return Stream(chunks=_chunks(text))
        answers = FENCED_ANSWER.findall(last)
        said = [w for w in words_of(answers[-1]) if w not in STOPWORDS] if answers else []
        main = _previous_question(request)
        topic = " ".join(w for w in words_of(main)[:16] if w not in STOPWORDS | {"thank"})
        quote = f'you said "{" ".join(said[:5])}"' if said else "let's take it step by step"
        return Stream(
            chunks=_chunks(
                f"Staying with {topic or 'this question'}: {quote}. Can you walk me through "
                "that in more detail?"
            )
        )

    # --- structured calls ------------------------------------------------------------

    def generate(self, request: RecordedRequest) -> Reply:
        schema: dict[str, Any] = request.generation_config.get("responseSchema") or {}
        properties = schema.get("properties") or {}
        if "criteria" in properties:
            return Reply(json.dumps(self._score(request, schema)))
        if "strengths" in properties:
            return Reply(json.dumps(self._report(properties)))
        raise AssertionError(f"an unexpected structured call: {sorted(properties)}")

    def _score(self, request: RecordedRequest, schema: dict[str, Any]) -> dict[str, Any]:
        fenced = FENCED_ANSWER.findall(request.contents_text)
        answer = fenced[-1] if fenced else ""
        lowered = answer.lower()
        reply, wrong = "answer", []
        if "don't know" in lowered or "do not know" in lowered:
            reply, values = "dont_know", (1, 1, 1, 1)
        elif "football" in lowered:
            reply, values = "off_topic", (1, 1, 1, 1)
        elif "ignore all previous instructions" in lowered:
            values = (1, 1, 1, 1)
        elif lowered.startswith("definitely"):
            wrong = [answer.split(".")[0]]
            values = (2, 3, 2, 3)
            if self.misbehaviour.reward_wrong_claims:
                wrong, values = [], (5, 4, 4, 4)
        elif len(answer.split()) >= 40:
            values = (4, 4, 4, 4)
        else:
            values = (2, 2, 1, 3)
        evidence = " ".join(answer.split()[:8]) or "nothing"
        payload: dict[str, Any] = {
            "reply": reply,
            "incorrect_statements": wrong,
            "criteria": [
                {
                    "criterion": criterion,
                    "evidence": evidence,
                    "rationale": "As the level describes.",
                    "value": value,
                    "suggestion": f"Say more about {criterion}.",
                }
                for criterion, value in zip(
                    ("coverage", "structure", "specificity", "clarity"), values, strict=True
                )
            ],
            "notes": "Scripted notes.",
            "follow_up_focus": "the part that stayed vague" if values[0] < 5 else "",
            "follow_up_worthy": reply == "answer" and values[0] >= 2,
        }
        # Only the fields the current schema asks for, so the script follows it as it grows.
        wanted = schema["properties"]
        item = wanted["criteria"].get("items", {}).get("properties", {})
        payload = {k: v for k, v in payload.items() if k in wanted}
        payload["criteria"] = [
            {k: v for k, v in c.items() if k in item} for c in payload["criteria"]
        ]
        return payload

    def _report(self, properties: dict[str, Any]) -> dict[str, Any]:
        strengths = ["You answered in full sentences."]
        if self.misbehaviour.invent_report_score:
            strengths.append("Overall you scored 4.9 of 5, an excellent result.")
        payload = {
            "strengths": strengths,
            "weaknesses": ["Some answers stayed vague."],
            "next_steps": ["Practise one answer a day.", "Use numbers.", "Lead with the point."],
        }
        return {k: v for k, v in payload.items() if k in properties}


def _parts_text(content: dict[str, Any]) -> str:
    return "\n".join(part.get("text", "") for part in content.get("parts") or [])


def _previous_question(request: RecordedRequest) -> str:
    """The last thing the interviewer said in the conversation (the question followed up)."""
    for content in reversed(request.contents):
        if content.get("role") == "model":
            return _parts_text(content)
    return ""


def _chunks(text: str) -> list[str]:
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + words[-1:]
