"""Safe extraction of tar and zip archives: a member that would land outside the target directory is refused.

TF-Slim extracted downloaded archives with ``tarfile.extractall``, which writes wherever a member's name points
(``../../.bashrc``, ``/etc/cron.d/x``) and follows symbolic links out of the target. Here every member is checked
before anything is written, and an archive with any unsafe member is refused as a whole with an
:class:`UnsafeArchiveError` that names the member:

- names that are absolute (``/x``, ``C:\\x``, ``\\\\server\\x``) or that climb out with ``..``;
- symbolic and hard links whose target lies outside the directory;
- device files and FIFOs.

While extracting, each member's real parent directory is checked again, so a chain of links cannot lead outside.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile

__all__ = ["UnsafeArchiveError", "extract_tar", "extract_zip", "extract_archive"]


class UnsafeArchiveError(ValueError):
    """An archive member would be written, or would link, outside the extraction directory."""


_DRIVE = re.compile(r"^[A-Za-z]:")


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, path]) == root


def _checked_path(archive: str, root: str, name: str, what: str = "member") -> str:
    """The absolute path ``name`` extracts to under ``root``; refuses absolute and climbing names."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise UnsafeArchiveError(f"Refusing to extract {archive}: {what} {name!r} has an absolute path.")
    target = os.path.normpath(os.path.join(root, *name.replace("\\", "/").split("/")))
    if not _inside(root, target):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive}: {what} {name!r} would be written outside {root} (it climbs out with '..')."
        )
    return target


def _check_real_parent(archive: str, root: str, name: str, target: str) -> None:
    real_root = os.path.realpath(root)
    if not _inside(real_root, os.path.realpath(os.path.dirname(target))):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive}: member {name!r} would be written through a link that leads outside {root}."
        )


def _check_tar_member(archive: str, root: str, member: tarfile.TarInfo) -> None:
    target = _checked_path(archive, root, member.name)
    if member.issym():
        link = member.linkname
        if link.startswith(("/", "\\")) or _DRIVE.match(link):
            raise UnsafeArchiveError(
                f"Refusing to extract {archive}: symbolic link {member.name!r} points to the absolute path {link!r}."
            )
        resolved = os.path.normpath(os.path.join(os.path.dirname(target), link))
        if not _inside(root, resolved):
            raise UnsafeArchiveError(
                f"Refusing to extract {archive}: symbolic link {member.name!r} -> {link!r} points outside {root}."
            )
    elif member.islnk():
        _checked_path(archive, root, member.linkname, what=f"hard link {member.name!r} -> target")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive}: member {member.name!r} is a device file or FIFO, not a file or folder."
        )


def extract_tar(path: str, dest: str) -> list[str]:
    """Extracts the tar archive ``path`` (any compression tarfile knows) into ``dest``.

    Returns:
      The member names, in archive order.

    Raises:
      UnsafeArchiveError: a member escapes ``dest`` (nothing has been written in that case, except for
        link chains, which are caught member by member while extracting).
    """
    root = os.path.abspath(dest)
    os.makedirs(root, exist_ok=True)
    with tarfile.open(path, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            _check_tar_member(path, root, member)
        for member in members:
            target = _checked_path(path, root, member.name)
            _check_real_parent(path, root, member.name, target)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: a second line of defence.
                tar.extract(member, root, set_attrs=not member.isdir(), filter="data")
            else:  # pragma: no cover - older Pythons; the checks above already refused unsafe members.
                tar.extract(member, root, set_attrs=not member.isdir())
    return [member.name for member in members]


def extract_zip(path: str, dest: str) -> list[str]:
    """Extracts the zip archive ``path`` into ``dest``; returns the member names.

    Raises:
      UnsafeArchiveError: a member has an absolute or climbing name, or is a symbolic link (zip links are not
        extracted as links by Python, so an archive that relies on one would come out wrong).
    """
    root = os.path.abspath(dest)
    os.makedirs(root, exist_ok=True)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        for info in infos:
            _checked_path(path, root, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeArchiveError(
                    f"Refusing to extract {path}: member {info.filename!r} is a symbolic link; zip links are not "
                    "supported."
                )
        for info in infos:
            target = _checked_path(path, root, info.filename)
            _check_real_parent(path, root, info.filename, target)
            archive.extract(info, root)
    return [info.filename for info in infos]


def extract_archive(path: str, dest: str) -> list[str]:
    """Extracts a tar (``.tar``, ``.tar.gz``, ``.tgz``, ...) or zip archive by its content; returns member names."""
    if zipfile.is_zipfile(path):
        return extract_zip(path, dest)
    if tarfile.is_tarfile(path):
        return extract_tar(path, dest)
    raise ValueError(f"{path} is neither a tar nor a zip archive (by its content); cannot extract it.")
