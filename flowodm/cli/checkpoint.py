"""Checkpoint files for resumable backfills: which leading rows of which input file are done.

A checkpoint says "rows 0 to ``rows_done - 1`` of this file were each delivered to ``topic`` or
recorded as invalid", so a rerun starts at row ``rows_done``. It also records the input file's
identity (resolved path, size, modification time and a hash of its first MiB) and refuses to
resume on a different or changed file, which would silently skip the wrong rows.

Writes are atomic (a temporary file in the same directory, fsync, then rename): after a crash
the file holds either the previous checkpoint or the new one, never a torn mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowodm.cli.usage import UsageError
from flowodm.exceptions import FlowODMError

__all__ = [
    "Checkpoint",
    "Checkpointer",
    "FileIdentity",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_FORMAT: Final = "flowodm-produce-checkpoint/1"
_HEAD_BYTES = 1 << 20
_Saved = TypeVar("_Saved", bound=BaseModel)


class FileIdentity(BaseModel):
    """What makes an input file "the same file" for resuming.

    Attributes:
        path: The resolved absolute path.
        size: Size in bytes.
        mtime_ns: Last modification time in nanoseconds since the epoch.
        head_sha256: SHA-256 of the first MiB, which catches a replaced file of the same size.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    size: int = Field(ge=0)
    mtime_ns: int
    head_sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FileIdentity:
        """Describe the file at ``path`` as it is now."""
        resolved = Path(path).resolve()
        stat = resolved.stat()
        with resolved.open("rb") as file:
            head = hashlib.sha256(file.read(_HEAD_BYTES)).hexdigest()
        return cls(
            path=str(resolved), size=stat.st_size, mtime_ns=stat.st_mtime_ns, head_sha256=head
        )

    def difference(self, other: FileIdentity) -> str | None:
        """Return how ``other`` differs from this file (``None`` when it is the same file)."""
        if other.path != self.path:
            return f"it was written for {self.path}, not {other.path}"
        if other.size != self.size:
            return f"the file's size changed from {self.size} to {other.size} bytes"
        if other.mtime_ns != self.mtime_ns:
            return "the file was modified after the checkpoint was written"
        if other.head_sha256 != self.head_sha256:
            return "the file's content changed (its first MiB differs)"
        return None


class Checkpoint(BaseModel):
    """The persisted progress of one backfill.

    Attributes:
        format: File format marker, so a foreign JSON file is never taken for a checkpoint.
        source: Identity of the input file.
        topic: Topic the rows were produced to; resuming into another topic is refused.
        rows_done: Rows ``0 .. rows_done - 1`` were delivered or recorded as invalid.
        updated_at: When the checkpoint was written (UTC), for people reading the file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["flowodm-produce-checkpoint/1"] = CHECKPOINT_FORMAT
    source: FileIdentity
    topic: str
    rows_done: int = Field(ge=0)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def load_checkpoint(path: Path) -> Checkpoint | None:
    """Read the one-file checkpoint at ``path``; ``None`` when it does not exist yet.

    Raises:
        UsageError: the file exists but is not a FlowODM checkpoint.
    """
    return read_checkpoint(path, Checkpoint)


def read_checkpoint(path: Path, kind: type[_Saved]) -> _Saved | None:
    """Read the checkpoint at ``path`` as ``kind``; ``None`` when it does not exist yet.

    ``kind`` is ``Checkpoint`` (one file) or ``FilesCheckpoint`` (files on a Dask cluster).

    Raises:
        UsageError: the file exists but is not a FlowODM checkpoint of that kind.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--checkpoint {str(path)!r} cannot be read: {exc}") from exc
    try:
        return kind.model_validate_json(text)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the file"
        raise UsageError(
            f"--checkpoint {str(path)!r} is not a FlowODM checkpoint ({where}: {problem['msg']}); "
            "pass another path, or delete the file to start from the first row"
        ) from exc


def save_checkpoint(path: Path, checkpoint: BaseModel) -> None:
    """Write ``checkpoint`` to ``path`` atomically and durably (temp file, fsync, rename).

    Raises:
        FlowODMError: the file cannot be written (the message names it).
    """
    data = checkpoint.model_dump_json(indent=2).encode("utf-8") + b"\n"
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise FlowODMError(f"cannot write checkpoint {str(path)!r}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException as exc:  # also Ctrl-C: no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError):
            raise FlowODMError(f"cannot write checkpoint {str(path)!r}: {exc}") from exc
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on power loss; not every platform allows it.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Checkpointer:
    """Keeps one backfill's checkpoint file: decides where to resume, then records progress."""

    def __init__(self, path: Path, *, source: FileIdentity, topic: str) -> None:
        self.path = path
        self.source = source
        self.topic = topic
        self.rows_done = 0

    def resume(self) -> int:
        """Return the first row to read: 0 for a new checkpoint, else where the last run stopped.

        Raises:
            UsageError: the checkpoint belongs to another file, a changed file or another topic.
        """
        previous = load_checkpoint(self.path)
        if previous is None:
            return 0
        difference = previous.source.difference(self.source)
        if difference is not None:
            raise UsageError(
                f"--checkpoint {str(self.path)!r} does not match the input: {difference}. "
                "Resuming would skip the wrong rows; pass a new --checkpoint path to start from "
                "the first row, or restore the original file"
            )
        if previous.topic != self.topic:
            raise UsageError(
                f"--checkpoint {str(self.path)!r} records a run into topic {previous.topic!r}, "
                f"not {self.topic!r}; pass a new --checkpoint path to produce to {self.topic!r}"
            )
        self.rows_done = previous.rows_done
        return previous.rows_done

    def advance(self, rows_done: int) -> None:
        """Record that rows before ``rows_done`` are done; writes only when it moved forward.

        If the write is interrupted (Ctrl-C) or fails, ``rows_done`` is what the file then
        says: the rename may have happened just before the interruption.
        """
        if rows_done <= self.rows_done:
            return
        try:
            save_checkpoint(
                self.path, Checkpoint(source=self.source, topic=self.topic, rows_done=rows_done)
            )
        except BaseException:
            self.rows_done = self._on_disk()
            raise
        self.rows_done = rows_done

    def _on_disk(self) -> int:
        """The count the file holds now (the one known before, if it cannot be read)."""
        with contextlib.suppress(UsageError, OSError):
            saved = load_checkpoint(self.path)
            if saved is not None and saved.topic == self.topic and saved.source == self.source:
                return max(self.rows_done, saved.rows_done)
        return self.rows_done
