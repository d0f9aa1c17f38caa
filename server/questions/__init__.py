"""The question bank in the database: what the interviewers plan from (``bank.py``) and what
the admins list, edit, retire, import and export (``service.py``, ``schemas.py``)."""
