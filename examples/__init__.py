"""Acceptance examples bundled with flowc (see README.md in this folder)."""
