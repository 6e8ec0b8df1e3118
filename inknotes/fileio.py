"""Files are written to a temp file in the target folder, then moved into place with
``os.replace``: a reader never sees a half-written file, a failure leaves nothing behind."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError


def _sentence(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return "The disk is full; free some space and try again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "Cannot write here (permission denied or read-only); choose another output folder."
    return f"Cannot write the file ({exc.strerror or exc})."


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temp file next to ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(_sentence(e, path), path) from e
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a finished file gets normal permissions
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        raise OutputError(_sentence(e, path), path) from e
    except BaseException:
        _unlink_quietly(tmp)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def path_text(path: str | Path) -> str:
    """A path as text that XML and SQLite accept: file-name bytes that are not UTF-8 (an old Latin-1
    name) become U+FFFD instead of failing the whole export or import."""
    return os.fsencode(path).decode("utf-8", "replace")


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks: how the library recognises a file it has."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_writable_dir(folder: str | Path) -> Path:
    """Create ``folder`` if needed and prove we can write there, before any work starts."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".inknotes-write-test.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        # mkdir says "exists" when the folder named is a file, "not a directory" for a file above it
        is_file = e.errno == errno.ENOTDIR or (e.errno == errno.EEXIST and not folder.is_dir())
        raise OutputError("The output path is a file, not a folder." if is_file
                          else _sentence(e, folder), folder) from e
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which races with files other
# threads (the job pool, the watcher) create meanwhile.
_UMASK = _umask()


def _unlink_quietly(p: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(p)
