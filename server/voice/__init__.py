"""Spoken answers: recordings arrive in chunks, a recogniser transcribes them, and their
delivery (pace, fillers, pauses) is measured."""
