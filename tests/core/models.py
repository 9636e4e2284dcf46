"""Models shared by the core producing tests."""

from __future__ import annotations

from flowodm.model import FlowBaseModel


class ReadingFields(FlowBaseModel):
    """The fields of ``model_for``'s models, so that they are typed."""

    sensor: str
    value: float


def model_for(topic_name: str) -> type[ReadingFields]:
    """A fresh model class whose ``Settings.topic`` is ``topic_name``, keyed by ``sensor``."""

    class Reading(ReadingFields):
        class Settings:
            topic = topic_name
            key_field = "sensor"

    return Reading
