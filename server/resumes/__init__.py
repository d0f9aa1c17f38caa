"""Résumés: the plain text of an uploaded PDF, DOCX or text file, for an interview's brief."""
