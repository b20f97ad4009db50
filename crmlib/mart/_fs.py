"""The few file-system operations the mart needs, on any path pyarrow (or fsspec) can open.

A local folder, ``file://``, ``s3://``, ``gs://``, ``hdfs://`` go through :mod:`pyarrow.fs`;
any other scheme known to fsspec (``memory://``, ``abfs://``, ...) through fsspec if installed.
Renames are atomic on local disks and HDFS; on object stores they are copies, which is why the
manifest is written last and readers that go through :func:`crmlib.mart.read` trust it.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import pyarrow.fs as pafs

from ..errors import ParameterError

__all__ = ["MartFS"]


class MartFS:
    """A root folder on some file system, addressed with '/'-separated relative paths."""

    def __init__(self, out: str | Path):
        text = str(out)
        if "://" not in text:
            self.fs: pafs.FileSystem = pafs.LocalFileSystem()
            self.root = Path(text).expanduser().resolve().as_posix()
            self.uri = self.root
        else:
            try:
                self.fs, self.root = pafs.FileSystem.from_uri(text)
            except (ValueError, OSError):  # ArrowInvalid is a ValueError: scheme unknown to pyarrow
                self.fs, self.root = _fsspec(text)
            self.uri = text.rstrip("/")
        self.root = self.root.rstrip("/") or "/"

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self.path(rel)).type != pafs.FileType.NotFound

    def listdir(self, rel: str) -> list[str]:
        """Base names directly inside ``rel`` (empty if it does not exist)."""
        if not self.exists(rel):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(rel), recursive=False))
        return sorted(posixpath.basename(i.path.rstrip("/")) for i in infos)

    def makedirs(self, rel: str) -> None:
        self.fs.create_dir(self.path(rel), recursive=True)

    def move(self, src: str, dst: str) -> None:
        self.fs.move(self.path(src), self.path(dst))

    def rmtree(self, rel: str) -> None:
        if self.exists(rel):
            self.fs.delete_dir(self.path(rel))

    def remove(self, rel: str) -> None:
        if self.exists(rel):
            self.fs.delete_file(self.path(rel))

    def read_bytes(self, rel: str) -> bytes:
        with self.fs.open_input_stream(self.path(rel)) as f:
            return f.read()

    def write_bytes(self, rel: str, data: bytes) -> None:
        with self.fs.open_output_stream(self.path(rel)) as f:
            f.write(data)


def _fsspec(uri: str):
    try:
        import fsspec
    except ModuleNotFoundError:
        raise ParameterError(
            f"mart: 'out' {uri!r} uses a scheme pyarrow does not know and fsspec is not installed",
            name="out",
        ) from None
    fs, root = fsspec.core.url_to_fs(uri)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), root
