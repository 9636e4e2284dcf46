"""The checkpoint of a backfill over several files on a Dask cluster: which files are finished.

Each input file is one Dask partition and one unit of the checkpoint. The file lists every
input's identity (``FileIdentity``, as the one-file checkpoint records it) in the order the
pattern matched them, the topic, and the files whose every row was delivered or recorded as
invalid. A rerun with the same command skips those; it is refused if the pattern now matches
other files, or one of them changed, because it would skip the wrong rows. Written atomically
by ``save_checkpoint``, like the one-file checkpoint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowodm.cli.checkpoint import FileIdentity, read_checkpoint, save_checkpoint
from flowodm.cli.usage import UsageError

__all__ = ["FilesCheckpoint", "FilesCheckpointer"]

FILES_CHECKPOINT_FORMAT: Final = "flowodm-produce-files-checkpoint/1"


class FilesCheckpoint(BaseModel):
    """The persisted progress of a backfill over several files.

    Attributes:
        format: File format marker (distinct from the one-file checkpoint's).
        files: Identity of every input file, in the order the run lists them.
        topic: Topic the rows were produced to; resuming into another topic is refused.
        done: Resolved paths of the files whose every row was delivered or recorded as invalid.
        updated_at: When the checkpoint was written (UTC), for people reading the file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["flowodm-produce-files-checkpoint/1"] = FILES_CHECKPOINT_FORMAT
    files: tuple[FileIdentity, ...]
    topic: str
    done: tuple[str, ...] = ()
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class FilesCheckpointer:
    """Keeps one multi-file backfill's checkpoint: which files to skip, then each one finished."""

    def __init__(self, path: Path, *, files: Sequence[FileIdentity], topic: str) -> None:
        self.path = path
        self.files = tuple(files)
        self.topic = topic
        self.done: frozenset[str] = frozenset()

    def resume(self) -> frozenset[str]:
        """Return the resolved paths already finished (none for a new checkpoint).

        Raises:
            UsageError: the checkpoint lists other files, a file changed, or another topic.
        """
        previous = read_checkpoint(self.path, FilesCheckpoint)
        if previous is None:
            return self.done
        difference = _difference(previous.files, self.files)
        if difference is not None:
            raise UsageError(
                f"--checkpoint {str(self.path)!r} does not match the input: {difference}. "
                "Resuming would skip the wrong files; pass a new --checkpoint path to start "
                "over, or restore the original files"
            )
        if previous.topic != self.topic:
            raise UsageError(
                f"--checkpoint {str(self.path)!r} records a run into topic {previous.topic!r}, "
                f"not {self.topic!r}; pass a new --checkpoint path to produce to {self.topic!r}"
            )
        self.done = frozenset(previous.done)
        return self.done

    def finish(self, path: str) -> None:
        """Record that every row of the file at resolved ``path`` is done (atomic write)."""
        if path in self.done:
            return
        done = self.done | {path}
        ordered = tuple(f.path for f in self.files if f.path in done)
        try:
            save_checkpoint(
                self.path, FilesCheckpoint(files=self.files, topic=self.topic, done=ordered)
            )
        except BaseException:
            self._reload()  # the rename may have happened just before an interruption
            raise
        self.done = done

    def _reload(self) -> None:
        with contextlib.suppress(UsageError, OSError):
            saved = read_checkpoint(self.path, FilesCheckpoint)
            if saved is not None and saved.files == self.files and saved.topic == self.topic:
                self.done = self.done | frozenset(saved.done)


def _difference(before: Sequence[FileIdentity], now: Sequence[FileIdentity]) -> str | None:
    """How the files matched now differ from the recorded ones (``None``: the same files)."""
    recorded = {f.path: f for f in before}
    current = {f.path: f for f in now}
    added = sorted(current.keys() - recorded.keys())
    removed = sorted(recorded.keys() - current.keys())
    if added or removed:
        parts = []
        if added:
            parts.append(f"{len(added)} file(s) not in it now match ({_names(added)})")
        if removed:
            parts.append(f"{len(removed)} recorded file(s) no longer match ({_names(removed)})")
        return " and ".join(parts)
    for path, identity in recorded.items():
        changed = identity.difference(current[path])
        if changed is not None:
            return f"{path}: {changed}"
    return None


def _names(paths: Sequence[str], shown: int = 3) -> str:
    more = f", and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more
