"""Writes that never follow a link they did not make and keep a file's mode, reads with a
bound, and what is left after a write fails (full disk, file-size limit, read-only folder)."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from faults import file_size_limit, read_only, tmpfs
from hypothesis import given
from hypothesis import strategies as st
from speech_audio import run_voicer

from voicer import files
from voicer.errors import InputError, OutputError


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o755])
def test_a_rewritten_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "speech.txt"
    target.write_text("一。")
    target.chmod(mode)
    files.write_atomically(target, "二。")
    assert target.read_text() == "二。"
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_new_file_gets_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        files.write_atomically(tmp_path / "new.txt", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_a_rewritten_file_keeps_its_owner(tmp_path):
    target = tmp_path / "names.tsv"
    target.write_text("a\tb\n")
    os.chown(target, 1234, 5678)
    files.write_atomically(target, "c\td\n")
    assert (target.stat().st_uid, target.stat().st_gid) == (1234, 5678)


def test_a_link_at_the_target_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "elsewhere" / "bashrc"
    victim.parent.mkdir()
    victim.write_text("precious")
    victim.chmod(0o600)
    planted = tmp_path / "speech.txt.bak"
    planted.symlink_to(victim)
    files.write_atomically(planted, "backup")
    assert victim.read_text() == "precious"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not planted.is_symlink()
    assert planted.read_text() == "backup"


def test_a_dangling_link_is_not_followed_to_make_a_file(tmp_path):
    aimed = tmp_path / "made-by-a-link"
    planted = tmp_path / "report.txt"
    planted.symlink_to(aimed)
    files.write_atomically(planted, "report")
    assert not aimed.exists()
    assert planted.read_text() == "report"


def test_editing_in_place_follows_the_users_own_link(tmp_path):
    real = tmp_path / "drafts" / "speech.txt"
    real.parent.mkdir()
    real.write_text("一。")
    real.chmod(0o644)
    named = tmp_path / "speech.txt"
    named.symlink_to(real)
    files.edit_in_place(named, "二。")
    assert named.is_symlink()
    assert real.read_text() == "二。"
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    assert leftovers(real.parent) == [] and leftovers(tmp_path) == []


def test_text_that_cannot_be_encoded_leaves_no_file_and_no_descriptor(tmp_path):
    target = tmp_path / "speech.txt"
    target.write_text("一。")
    before = open_descriptors()
    for _ in range(20):
        with pytest.raises(UnicodeEncodeError):
            files.write_atomically(target, "\ud800")
    assert open_descriptors() == before
    assert leftovers(tmp_path) == []
    assert target.read_text() == "一。"


@given(st.binary(max_size=2000))
def test_what_is_written_is_read_back(tmp_path_factory, data):
    target = tmp_path_factory.mktemp("w") / "out.bin"
    files.write_atomically(target, data)
    assert target.read_bytes() == data


def test_a_full_disk_keeps_the_earlier_file(tmp_path):
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        target = disk / "report.txt"
        target.write_text("earlier")
        with pytest.raises(OutputError, match=r"cannot write .*report\.txt \(No space left"):
            files.write_atomically(target, b"x" * 200_000)
        assert target.read_text() == "earlier"
        assert leftovers(disk) == []


def test_a_read_only_folder_is_named_in_one_line(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "report.txt").write_text("earlier")
    with read_only(tmp_path / "ro") as folder:
        with pytest.raises(OutputError, match=r"cannot write .*report\.txt \(Read-only"):
            files.write_atomically(folder / "report.txt", "new")
        assert (folder / "report.txt").read_text() == "earlier"


def test_a_file_size_limit_is_named_and_cleaned_up(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("earlier")
    program = (
        "import sys; from pathlib import Path; from voicer import files\n"
        "from voicer.errors import OutputError\n"
        "try:\n    files.write_atomically(Path(sys.argv[1]), b'x' * 100_000)\n"
        "except OutputError as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(target)],
        capture_output=True,
        text=True,
        preexec_fn=file_size_limit(10_000),
        check=True,
    )
    assert done.stdout.strip() == f"cannot write {target} (File too large)"
    assert target.read_text() == "earlier"
    assert leftovers(tmp_path) == []


def test_an_output_error_inside_the_block_names_its_output(tmp_path):
    targets = [tmp_path / "a.mp3", tmp_path / "a.srt"]
    no_space = r"cannot write .*a\.srt \(No space left on device\)"
    with pytest.raises(OutputError, match=no_space), files.atomic_outputs(targets) as temporaries:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(temporaries[1]))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_full_disk_names_only_the_subtitles_that_did_not_fit(tmp_path):
    """The SRT on a full disk, the audio and VTT elsewhere: the one line names the SRT (a full
    disk told at close, which names no file, named every output) and earlier files stay."""
    script = tmp_path / "long.txt"
    speech = Path(__file__).parent.parent / "examples" / "long-speech.txt"
    script.write_text(speech.read_text(encoding="utf-8") * 3, "utf-8")
    with tmpfs(tmp_path / "disk", size="8k") as disk:
        (disk / "a.srt").write_text("earlier")
        args = ["-o", "a.mp3", "--vtt", "--srt", "disk/a.srt", "--engine", "tone", "-q"]
        ran = run_voicer("render", "long.txt", *args, cwd=tmp_path)
        assert ran.returncode == 1, ran.stderr.decode()
        (line,) = ran.stderr.decode().splitlines()
        assert line == "voicer: error: cannot write disk/a.srt (No space left on device)"
        assert (disk / "a.srt").read_text() == "earlier"
        assert leftovers(disk) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["disk", "long.txt"]


def test_reading_is_bounded(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 101)
    with pytest.raises(InputError, match="big.txt: more than 100 bytes: too large for a text file"):
        files.read_input(big, "text file", limit=100)
    assert files.read_input(big, "text file", limit=101) == b"a" * 101


@pytest.mark.slow
@pytest.mark.parametrize("given_as", ["path", "stdin"])
def test_render_refuses_an_endless_input(tmp_path, given_as):
    if given_as == "path":
        done = run_voicer("render", "/dev/zero", "-o", "out.wav", cwd=tmp_path)
    else:
        with open("/dev/zero", "rb") as zero:
            done = subprocess.run(
                [sys.executable, "-m", "voicer", "render", "-", "-o", "out.wav"],
                stdin=zero,
                capture_output=True,
                cwd=tmp_path,
                check=False,
            )
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2, lines
    assert lines == [
        f"voicer: error: {'/dev/zero' if given_as == 'path' else 'stdin'}: "
        "more than 16 MiB: too large for a text file"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_an_endless_model_is_refused_before_any_work(tmp_path):
    (tmp_path / "talk.txt").write_text("今天开会。", encoding="utf-8")
    done = run_voicer("render", "talk.txt", "--kokoro-model", "/dev/zero", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.decode().splitlines()
    assert line == "voicer: error: /dev/zero: not a Kokoro model file"


def test_an_output_on_a_read_only_disk_is_refused_with_the_reason(tmp_path):
    (tmp_path / "ro").mkdir()
    with read_only(tmp_path / "ro") as folder:
        with pytest.raises(InputError, match=r"cannot write output here \(read-only file system"):
            files.check_writable(folder / "out.mp3")
        with pytest.raises(InputError, match=r"no folder can be made in .*: read-only file system"):
            files.check_writable(folder / "new" / "out.mp3")


@pytest.mark.slow
def test_a_file_size_limit_on_the_delivered_audio_is_named(tmp_path):
    """The limit passes the scratch (mono float) and stops the delivery (stereo 24-bit), which
    ffmpeg writes: the kernel stops it with SIGXFSZ before it can say why."""
    speech = "今天我们在这里召开全市科技创新大会，回顾过去一年的工作。\n明天继续开会。\n"
    (tmp_path / "talk.txt").write_text(speech, encoding="utf-8")
    args = ["render", "talk.txt", "--engine", "tone", "--no-cache", "-q", "--channels", "2"]
    assert run_voicer(*args, "-o", "out.wav", cwd=tmp_path).returncode == 0
    earlier = (tmp_path / "out.wav").read_bytes()
    (tmp_path / "talk.txt").write_text(speech.replace("明天", "后天"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "voicer", *args, "-o", "out.wav"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        preexec_fn=file_size_limit(len(earlier) * 8 // 10),
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "voicer: error: cannot encode out.wav: File too large (a file size limit stopped ffmpeg)"
    ]
    assert (tmp_path / "out.wav").read_bytes() == earlier
    assert leftovers(tmp_path) == []
