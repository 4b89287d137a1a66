"""The compiler core: spans, diagnostics, types, the logical IR and its passes.

Imports nothing else of flowc; every other package builds on it.
"""
