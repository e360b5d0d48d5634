"""The exact counting rules, once as plain Python and once as the pieces the Spark expressions are built from.

Spark's trim() strips only ASCII spaces while the rules strip as Python's str.strip() does, so the
Spark side strips with a regular expression over exactly the characters Python calls whitespace;
the pattern is written so that Java's and Python's regex engines read it the same way.
"""

from __future__ import annotations

CANONICAL_KINGDOMS = ("Animalia", "Plantae", "Fungi", "Chromista", "Bacteria", "Archaea", "Protozoa", "Viruses")
UNSPECIFIED = "unspecified"
UNKNOWN_SOURCE = "unknown"

# Every code point for which str.isspace() is true (tests/test_consumer_documents.py checks all of Unicode).
WHITESPACE_CLASS = r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# Leading or trailing whitespace; for regexp_replace(value, STRIP_PATTERN, "").
STRIP_PATTERN = f"^{WHITESPACE_CLASS}+|{WHITESPACE_CLASS}+$"


def kingdom(value: str | None) -> str:
    """The kingdom a record counts under."""
    stripped = (value or "").strip()
    if not stripped:
        return UNSPECIFIED
    for name in CANONICAL_KINGDOMS:
        if stripped.lower() == name.lower():
            return name
    return stripped


def species(value: str | None) -> str | None:
    """The name a record adds to the distinct species, None when it adds none."""
    stripped = (value or "").strip()
    return stripped or None


def source(key: bytes | None) -> str:
    """The source a Kafka record belongs to: its key (the source URL)."""
    return UNKNOWN_SOURCE if key is None else key.decode("utf-8", errors="replace")
