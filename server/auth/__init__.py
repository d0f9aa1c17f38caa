"""Accounts: argon2id password hashes, JWT access and refresh tokens, roles."""
