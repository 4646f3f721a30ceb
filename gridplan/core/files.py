"""Outputs written whole or not at all: a file through a temporary file beside it, a folder of files through a
temporary folder beside it. When the writing fails or is interrupted, the previous file or folder stays as it was.

A folder written so holds a manifest (:data:`MANIFEST`) that lists its files. Only such a folder, or an empty one,
is ever replaced: a folder that holds anything else (``-o ~/Documents``) is refused, never wiped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gridplan.errors import InputError

#: The list of the files gridplan wrote into a folder it owns (hidden, so that it is not printed with the maps).
MANIFEST = ".gridplan-files.json"


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``, else remove it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # drivers refuse to create over an existing (empty) file
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_replaceable(folder: str | os.PathLike, what: str, what_zh: str | None = None) -> None:
    """Refuse a folder that a new set of ``what`` may not replace as a whole.

    Parameters
    ----------
    folder
        The folder to be replaced; it may not exist yet.
    what
        What the folder holds, for the message (``"wall maps"``).
    what_zh
        The same in Chinese (``"网格上墙图"``), for the message in Chinese; ``what`` when not given.

    Raises
    ------
    InputError
        ``folder`` is a file, holds a file or folder that is not in its manifest (one gridplan did not write), or
        sits in a folder where the new set cannot be written aside.
    """
    folder = Path(folder).resolve()
    what_zh = what_zh or what
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"{folder} is a file, not a folder: {what} are written into a folder",
            zh=f"{folder} 是文件，不是文件夹：{what_zh}写入文件夹",
        )
    if folder.is_dir():
        foreign = sorted(set(os.listdir(folder)) - {MANIFEST} - set(_listed(folder)))
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            shown_zh = "、".join(foreign[:3]) + (f" 等另外 {len(foreign) - 3} 个" if len(foreign) > 3 else "")
            raise InputError(
                f"{folder} holds {len(foreign)} file(s) gridplan did not write ({shown}): {what} replace "
                "their folder as a whole; write them into a new or empty folder",
                zh=f"{folder} 中有 {len(foreign)} 个文件不是 gridplan 写入的（{shown_zh}）：{what_zh}会整体替换"
                "所在文件夹；请写入新的或空的文件夹",
            )
    parent = _existing(folder.parent)
    try:
        os.rmdir(_new_folder(parent, ".gridplan-", ""))
    except OSError as exc:
        raise InputError(
            f"{folder} cannot be written: no folder can be made in {parent} ({exc.strerror})",
            zh=f"无法写入 {folder}：不能在 {parent} 中创建文件夹（{exc.strerror}）",
        ) from exc


@contextmanager
def replaced_folder(folder: str | os.PathLike, what: str, what_zh: str | None = None) -> Iterator[Path]:
    """Yield a new, empty folder beside ``folder`` to write a whole set of files into; when the block ends without
    error, it takes ``folder``'s place (with a manifest of its files) and the previous set is removed. On any error
    or interruption ``folder`` stays exactly as it was and the new folder is removed.

    Parameters
    ----------
    folder
        The folder to replace (created when missing); refused as :func:`check_replaceable` says.
    what
        What the folder holds, for messages (``"wall maps"``).
    what_zh
        The same in Chinese, for messages in Chinese.
    """
    folder = Path(folder).resolve()
    check_replaceable(folder, what, what_zh)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = _new_folder(folder.parent, f".{folder.name}.", ".new")
    try:
        yield staging
        files = sorted(p.name for p in staging.iterdir())
        (staging / MANIFEST).write_text(
            json.dumps({"written_by": "gridplan", "what": what, "files": files}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
        _swap(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(new: Path, folder: Path) -> None:
    """Put ``new`` in ``folder``'s place: the old folder renamed aside, the new one renamed in, the old removed;
    the old one renamed back when the new one cannot take its place."""
    if not folder.exists():
        os.rename(new, folder)
        return
    aside = _new_folder(folder.parent, f".{folder.name}.", ".old")
    os.rmdir(aside)  # a name of our own, free for the rename
    try:
        os.rename(folder, aside)
        os.rename(new, folder)
    except BaseException:
        # interrupted between the two renames: the previous set goes back
        if aside.exists() and not folder.exists():
            os.rename(aside, folder)
        raise
    finally:
        if folder.exists():
            shutil.rmtree(aside, ignore_errors=True)


def _new_folder(parent: Path, prefix: str, suffix: str) -> Path:
    """A new folder of a free name in ``parent``, with the permissions of any folder made there (mkdtemp's are
    private to the user: the replaced folder would lose its readers)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _listed(folder: Path) -> list[str]:
    """The files the folder's manifest lists (none when it has no readable manifest)."""
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [f for f in files if isinstance(f, str)]


def _existing(folder: Path) -> Path:
    """``folder``, or the nearest folder above it that exists."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
