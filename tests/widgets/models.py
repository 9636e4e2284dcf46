"""Models of the widget tests, one class per test topic."""

from __future__ import annotations

from flowodm import FlowBaseModel


class NoteFields(FlowBaseModel):
    """The fields of a note; ``note_model`` gives it a topic."""

    note_id: str
    text: str


def note_model(topic_name: str) -> type[NoteFields]:
    """A ``Note`` writing to ``topic_name``, keyed by ``note_id``."""

    class Note(NoteFields):
        class Settings:
            topic = topic_name
            key_field = "note_id"

    return Note
