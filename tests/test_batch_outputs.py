"""Where ``voicer batch`` writes: never over a file it reads (a script named report.txt, a
fill file), its own earlier report never taken for a script, and a folder it cannot write
into reported script by script."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import faults
import pytest
from speech_audio import invoke_voicer, run_voicer
from test_batch_local import outcomes, write_scripts

from voicer.batch.manifest import STAMPS, entries
from voicer.errors import InputError

SPEECH = "同志们好。今天我们召开大会。\n"
TONE = ("--engine", "tone")


def one_error_line(stderr: bytes) -> str:
    said = stderr.decode()
    assert "Traceback" not in said
    (line,) = said.splitlines()
    return line


@pytest.mark.slow
def test_a_script_named_like_the_report_is_never_replaced_by_it(tmp_path: Path):
    folder = write_scripts(tmp_path / "talks", {"report.txt": SPEECH, "a.txt": SPEECH})

    ran = run_voicer("batch", "talks", "-o", "talks", *TONE, cwd=tmp_path)

    assert ran.returncode == 2, ran.stderr.decode()
    line = one_error_line(ran.stderr)
    assert line.startswith("voicer: error: talks/report.txt: read by the batch, yet its output ")
    assert (folder / "report.txt").read_text(encoding="utf-8") == SPEECH
    assert sorted(path.name for path in folder.iterdir()) == ["a.txt", "report.txt"]  # no work


@pytest.mark.slow
def test_a_batch_into_its_own_folder_does_not_read_its_report_aloud(tmp_path: Path):
    folder = write_scripts(tmp_path / "talks", {"a.txt": SPEECH})
    env = {"VOICER_CACHE_DIR": str(tmp_path / "cache")}
    for run in range(2):
        ran = invoke_voicer("batch", "talks", "-o", "talks", *TONE, cwd=tmp_path, env=env)
        assert ran.returncode == 0, (run, ran.stderr.decode())
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert [(item["script"], item["status"]) for item in report] == [("talks/a.txt", "skipped")]
    assert not (folder / "report.mp3").exists()
    assert (folder / "a.txt").read_text(encoding="utf-8") == SPEECH


@pytest.mark.slow
def test_a_timeline_that_would_replace_a_fill_file_is_refused(tmp_path: Path):
    write_scripts(tmp_path, {"a.txt": "今天在*市开会。\n"})
    fill_file = tmp_path / "out" / "a.json"
    fill_file.parent.mkdir()
    fill_file.write_text("*=上海\n", encoding="utf-8")
    manifest = tmp_path / "batch.toml"
    manifest.write_text('[[script]]\npath = "a.txt"\nfill_file = "out/a.json"\n', "utf-8")

    ran = run_voicer("batch", "batch.toml", "-o", "out", "--timeline", *TONE, cwd=tmp_path)

    assert ran.returncode == 2, ran.stderr.decode()
    assert "out/a.json: read by the batch, yet its output out/a.json would" in one_error_line(
        ran.stderr
    )
    assert fill_file.read_text(encoding="utf-8") == "*=上海\n"


@pytest.mark.slow
def test_an_output_that_would_replace_the_command_lines_fill_file_is_refused(tmp_path: Path):
    write_scripts(tmp_path / "in", {"a.txt": "今天在*市开会。\n"})
    fill_file = tmp_path / "out" / "a.srt"
    fill_file.parent.mkdir()
    fill_file.write_text("*=上海\n", encoding="utf-8")

    ran = run_voicer("batch", "in", "-o", "out", "--fill-file", "out/a.srt", *TONE, cwd=tmp_path)

    assert ran.returncode == 2, ran.stderr.decode()
    assert "out/a.srt: read by the batch, yet its output out/a.srt would" in one_error_line(
        ran.stderr
    )
    assert fill_file.read_text(encoding="utf-8") == "*=上海\n"


def test_a_link_in_out_to_a_script_counts_as_the_script(tmp_path: Path):
    write_scripts(tmp_path / "in", {"a.txt": SPEECH, "b.txt": SPEECH})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.srt").symlink_to(tmp_path / "in" / "b.txt")
    with pytest.raises(
        InputError, match="b.txt: read by the batch, yet its output .*a.srt would replace it"
    ):
        entries(tmp_path / "in", tmp_path / "out", {}, ())


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """An empty folder on a read-only tmpfs: nothing can be made in it, even by root."""
    with faults.tmpfs(tmp_path / "read-only", size="64k", read_only=True) as folder:
        yield folder


@pytest.mark.slow
def test_a_read_only_out_reports_each_script_and_the_report(tmp_path: Path, read_only_folder):
    write_scripts(tmp_path / "in", {"a.txt": SPEECH, "b.md": SPEECH})

    ran = run_voicer("batch", "in", "-o", str(read_only_folder), "-q", *TONE, cwd=tmp_path)

    assert ran.returncode == 1, ran.stderr.decode()
    said = ran.stderr.decode()
    assert "Traceback" not in said
    lines = said.splitlines()
    for script in ("in/a.txt", "in/b.md"):
        (line,) = [line for line in lines if line.startswith(f"voicer: error: {script}: ")]
        assert f"{read_only_folder}: cannot write output here" in line
    (line,) = [line for line in lines if "report.json" in line]
    assert line.startswith(f"voicer: error: cannot write {read_only_folder}/report.json")
    assert ran.stdout.decode().splitlines()[-1].startswith("2 scripts: 0 delivered, 2 failed")


def test_the_report_and_stamps_keep_their_mode_when_written_again(tmp_path: Path):
    folder = write_scripts(tmp_path / "in", {"a.txt": SPEECH})
    env = {"VOICER_CACHE_DIR": str(tmp_path / "cache")}
    command = ("batch", "in", "-o", "out", *TONE)
    assert invoke_voicer(*command, cwd=tmp_path, env=env).returncode == 0
    out = tmp_path / "out"
    modes = {out / "report.json": 0o644, out / "report.txt": 0o640, out / STAMPS / "a.json": 0o664}
    for path, mode in modes.items():
        path.chmod(mode)
    (folder / "a.txt").write_text("同志们好。\n", encoding="utf-8")  # its stamp is made anew

    again = invoke_voicer(*command, cwd=tmp_path, env=env)

    assert again.returncode == 0, again.stderr.decode()
    assert outcomes(out)["a.txt"]["status"] == "ok"
    assert {path: stat.S_IMODE(path.stat().st_mode) for path in modes} == modes


def test_a_stamps_folder_that_is_a_link_is_refused_before_any_work(tmp_path: Path):
    """A cloned folder may hold ``out/.voicer-batch -> ~/.config``: stamps named after the
    scripts (``settings.json``) must not be written wherever it leads."""
    write_scripts(tmp_path / "in", {"settings.txt": SPEECH})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "settings.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / STAMPS).symlink_to(elsewhere)

    ran = run_voicer("batch", "in", "-o", "out", *TONE, cwd=tmp_path)

    assert ran.returncode == 2, ran.stderr.decode()
    assert one_error_line(ran.stderr).startswith(f"voicer: error: out/{STAMPS}: is a link")
    assert [path.name for path in elsewhere.iterdir()] == ["settings.json"]
    assert (elsewhere / "settings.json").read_text(encoding="utf-8") == "{}\n"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [STAMPS]


@pytest.mark.slow
@pytest.mark.parametrize("planted", ["/dev/zero", "fifo"])
def test_a_stamp_that_is_no_file_is_not_read(tmp_path: Path, planted: str):
    """A stamp found as a link to ``/dev/zero`` (read forever) or as a FIFO (waits for a
    writer forever) is no stamp: the script is rendered and its stamp made anew."""
    write_scripts(tmp_path / "in", {"a.txt": SPEECH})
    stamps = tmp_path / "out" / STAMPS
    stamps.mkdir(parents=True)
    stamp = stamps / "a.json"
    if planted == "fifo":
        os.mkfifo(stamp)
    else:
        stamp.symlink_to(planted)
    env = {"VOICER_CACHE_DIR": str(tmp_path / "cache")}

    ran = run_voicer("batch", "in", "-o", "out", "-q", *TONE, cwd=tmp_path, env=env)

    assert ran.returncode == 0, ran.stderr.decode()
    assert outcomes(tmp_path / "out")["a.txt"]["status"] == "ok"
    assert stamp.is_file() and not stamp.is_symlink()
    assert json.loads(stamp.read_text(encoding="utf-8"))["script"] == "in/a.txt"
