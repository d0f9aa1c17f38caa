"""A track's questions written as a bank file, the shape of ``server/llm/bank/<track>.toml``
(``tomllib`` reads TOML but does not write it; the shape is small and fixed)."""

from __future__ import annotations

from server.questions.schemas import BankFile

# TOML basic strings: these are escaped, everything else is written as it is.
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _strings(values: list[str]) -> str:
    return "[" + ", ".join(_string(value) for value in values) + "]"


def bank_file_toml(file: BankFile) -> str:
    """``file`` as TOML that ``load_bank`` reads back to the same questions."""
    lines = [
        f"# Question bank: {file.track.value}, exported from the admin console.",
        f"track = {_string(file.track.value)}",
        f"version = {file.version}",
    ]
    for question in file.question:
        lines += [
            "",
            "[[question]]",
            f"id = {_string(question.id)}",
            f"level = {_string(question.level.value)}",
            f"topics = {_strings(question.topics)}",
            f"text = {_string(question.text)}",
            "points = [",
            *(
                f"  {{ point = {_string(p.point)}, keywords = {_strings(p.keywords)} }},"
                for p in question.points
            ),
            "]",
            f"follow_up = {_string(question.follow_up)}",
        ]
        if question.model_answer:
            lines.append(f"model_answer = {_strings(question.model_answer)}")
        if question.misconceptions:
            lines += [
                "misconceptions = [",
                *(
                    f"  {{ claim = {_string(m.claim)}, cues = {_strings(m.cues)}, "
                    f"challenge = {_string(m.challenge)} }},"
                    for m in question.misconceptions
                ),
                "]",
            ]
    return "\n".join(lines) + "\n"
