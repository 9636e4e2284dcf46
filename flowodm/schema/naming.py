"""Schema Registry subject name strategies, as plain functions (Confluent's three strategies).

Each takes ``(topic, record_fullname, is_key)`` and returns the subject. ``SUBJECT_STRATEGIES``
maps the ``Settings`` option values ``"topic"``, ``"record"`` and ``"topic_record"`` to them.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "SUBJECT_STRATEGIES",
    "SubjectStrategy",
    "record_subject",
    "topic_record_subject",
    "topic_subject",
]

SubjectStrategy = Callable[[str, str, bool], str]


def topic_subject(topic: str, record_fullname: str, is_key: bool) -> str:
    """TopicNameStrategy: ``<topic>-key`` / ``<topic>-value`` (Confluent's default)."""
    return f"{topic}-{'key' if is_key else 'value'}"


def record_subject(topic: str, record_fullname: str, is_key: bool) -> str:
    """RecordNameStrategy: the record's full name, shared by every topic that carries it."""
    return record_fullname


def topic_record_subject(topic: str, record_fullname: str, is_key: bool) -> str:
    """TopicRecordNameStrategy: ``<topic>-<record full name>``."""
    return f"{topic}-{record_fullname}"


SUBJECT_STRATEGIES: dict[str, SubjectStrategy] = {
    "topic": topic_subject,
    "record": record_subject,
    "topic_record": topic_record_subject,
}
