"""Safe archive extraction: members escaping the target (../, absolute paths, links) are refused by name."""

import io
import os
import tarfile
import zipfile

import pytest

from slim.datasets.archive import UnsafeArchiveError, extract_archive, extract_tar, extract_zip


def _tar(path, members):
    """members: (name, kind, payload) with kind 'file' (payload bytes), 'symlink'/'hardlink' (payload target)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = payload
                tar.addfile(info)
    return str(path)


def test_safe_tar_extracts(tmp_path):
    archive = _tar(
        tmp_path / "ok.tgz",
        [("top/a.txt", "file", b"a"), ("top/sub/b.txt", "file", b"b"), ("top/link", "symlink", "sub/b.txt")],
    )
    names = extract_tar(archive, str(tmp_path / "out"))
    assert names == ["top/a.txt", "top/sub/b.txt", "top/link"]
    assert (tmp_path / "out/top/sub/b.txt").read_bytes() == b"b"
    assert os.readlink(tmp_path / "out/top/link") == "sub/b.txt"


@pytest.mark.parametrize(
    "member, message",
    [
        (("../evil", "file", b"x"), "'../evil' would be written outside"),
        (("ok/../../evil", "file", b"x"), "'ok/../../evil' would be written outside"),
        (("/tmp/evil_absolute", "file", b"x"), "'/tmp/evil_absolute' has an absolute path"),
        (("link", "symlink", "/etc/passwd"), "symbolic link 'link' points to the absolute path '/etc/passwd'"),
        (("d/link", "symlink", "../../outside"), "symbolic link 'd/link' -> '../../outside' points outside"),
        (("hard", "hardlink", "../outside"), "hard link 'hard' -> target '../outside'"),
    ],
)
def test_unsafe_tar_is_refused_naming_the_member(tmp_path, member, message):
    archive = _tar(tmp_path / "bad.tgz", [("fine.txt", "file", b"fine"), member])
    with pytest.raises(UnsafeArchiveError, match=message.replace("(", r"\(").replace(")", r"\)")):
        extract_tar(archive, str(tmp_path / "out"))
    # Everything is checked before anything is written.
    assert not (tmp_path / "out" / "fine.txt").exists()
    assert not (tmp_path / "evil").exists()


def test_tar_write_through_symlink_chain_is_refused(tmp_path):
    # The member's name stays inside lexically, but the folder it names is a link (already on disk, or made by an
    # earlier member) that really leads outside: caught while extracting.
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(str(outside), out / "pre_existing_link")
    archive = _tar(tmp_path / "chain.tgz", [("pre_existing_link/x.txt", "file", b"x")])
    with pytest.raises(UnsafeArchiveError, match="through a link that leads outside"):
        extract_tar(archive, str(out))
    assert not (outside / "x.txt").exists()


def _zip(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name), b"payload")
    return str(path)


def test_safe_zip_extracts(tmp_path):
    archive = _zip(tmp_path / "ok.zip", ["dir/a.txt", "b.txt"])
    assert extract_zip(archive, str(tmp_path / "out")) == ["dir/a.txt", "b.txt"]
    assert (tmp_path / "out/dir/a.txt").read_bytes() == b"payload"


@pytest.mark.parametrize(
    "name, message",
    [("../evil.txt", "'../evil.txt' would be written outside"), ("/abs.txt", "'/abs.txt' has an absolute path")],
)
def test_unsafe_zip_is_refused_naming_the_member(tmp_path, name, message):
    archive = _zip(tmp_path / "bad.zip", ["fine.txt", name])
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_zip(archive, str(tmp_path / "out"))
    assert not (tmp_path / "out" / "fine.txt").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_member_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16) | 0
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="'link' is a symbolic link"):
        extract_zip(str(path), str(tmp_path / "out"))


def test_extract_archive_detects_kind_by_content(tmp_path):
    zipped = _zip(tmp_path / "named.tar.gz", ["z.txt"])  # a zip despite its name
    assert extract_archive(zipped, str(tmp_path / "z")) == ["z.txt"]
    tarred = _tar(tmp_path / "named.zip", [("t.txt", "file", b"t")])
    assert extract_archive(tarred, str(tmp_path / "t")) == ["t.txt"]
    (tmp_path / "plain.txt").write_text("not an archive")
    with pytest.raises(ValueError, match="neither a tar nor a zip"):
        extract_archive(str(tmp_path / "plain.txt"), str(tmp_path / "p"))
