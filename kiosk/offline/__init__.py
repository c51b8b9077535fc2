"""Kiosk offline mode: reserved number blocks, the SQLite spool and its sync thread."""
