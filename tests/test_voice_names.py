"""Voice names are checked before synthesis: a misspelt one is an error (exit 2) suggesting the
closest real names. The edge service's own list decides when it can be reached; offline, the
list bundled with voicer does, and the message says so.

The subject is the check and its message, so most renders run the command in this process (an
error still ends it with its exit code and one line); one refusal and the offline voice list
are real ``python -m voicer`` runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech_audio import invoke_voicer, run_voicer

from voicer.errors import InputError
from voicer.synthesis.engines import registry, selection

SPEECH = "今天开会。"


def render(tmp_path: Path, *args: str, text: str = SPEECH, process: bool = False):
    """``voicer render in.txt -o out.wav ARGS``, in this process unless ``process``."""
    (tmp_path / "in.txt").write_text(text, encoding="utf-8")
    run = run_voicer if process else invoke_voicer
    return run("render", "in.txt", "-o", "out.wav", *args, cwd=tmp_path)


def refused(result) -> str:
    """The one error line of a render refused before synthesis; nothing written."""
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("voicer: error: "), line
    return line


@pytest.mark.parametrize(
    ("args", "suggested"),
    [
        (["--voice", "zh-CN-NoSuchNeural"], "zh-CN-"),
        (["--voice", "zh-CN-XiaoxioNeural"], "zh-CN-XiaoxiaoNeural"),
        (["--voice", "zh-CN-XiaoxioNeural", "--engine", "kokoro"], "zh-CN-XiaoxiaoNeural"),
        (["--voice", "zh-cn-xiaoxiaoneural"], "zh-CN-XiaoxiaoNeural"),
        (["--voice", "zm_yunxy", "--engine", "kokoro"], "zm_yunxi"),
        (["--voice", "zm_yunxy"], "zm_yunxi"),
    ],
)
def test_offline_a_misspelt_voice_is_an_error_suggesting_real_ones(tmp_path, args, suggested):
    line = refused(render(tmp_path, *args))
    assert f"unknown voice '{args[1]}'" in line
    assert "did you mean " in line and suggested in line.split("did you mean ", 1)[1]
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.slow
def test_offline_an_edge_voice_not_bundled_is_refused_saying_why(tmp_path):
    line = refused(render(tmp_path, "--voice", "en-NZ-MollyNeural", process=True))
    assert "unknown voice 'en-NZ-MollyNeural'" in line
    assert "bundled with voicer" in line and "cannot be reached" in line


def test_a_misspelt_voice_in_markup_is_an_error_too(tmp_path):
    text = "今天开会。\n[voice zh-CN-YunyanNeural]\n明天休息。"
    line = refused(render(tmp_path, "--engine", "kokoro", text=text))
    assert "unknown voice 'zh-CN-YunyanNeural'" in line and "zh-CN-YunyangNeural" in line


@pytest.mark.slow
def test_a_bundled_edge_voice_still_maps_to_kokoro_offline(tmp_path):
    result = render(tmp_path, "--engine", "kokoro", "--voice", "zh-CN-XiaoxiaoNeural")
    assert result.returncode == 0, result.stderr.decode()
    assert "zh-CN-XiaoxiaoNeural is online only; using zf_xiaoxiao" in result.stderr.decode()


# --- with the service reachable, its own list decides -----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["edge", "auto"])
def test_the_live_list_accepts_a_voice_voicer_does_not_bundle(edge_server, tmp_path, engine):
    result = render(tmp_path, "--engine", engine, "--voice", "en-NZ-MollyNeural")
    assert result.returncode == 0, result.stderr.decode()
    assert {r.voice for r in edge_server.requests} >= {"en-NZ-MollyNeural"}


@pytest.mark.parametrize("engine", ["edge", "auto"])
def test_the_live_list_refuses_a_voice_it_does_not_have(edge_server, tmp_path, engine):
    line = refused(render(tmp_path, "--engine", engine, "--voice", "zh-CN-XiaoxioNeural"))
    assert "unknown voice 'zh-CN-XiaoxioNeural'" in line and "zh-CN-XiaoxiaoNeural" in line
    assert "the edge service's list" in line
    assert not [r for r in edge_server.requests if r.voice == "zh-CN-XiaoxioNeural"]


def test_markup_voices_are_checked_against_the_live_list(edge_server, tmp_path):
    text = "今天开会。\n[voice en-NZ-MollyNeural]\n明天休息。\n[voice en-NZ-MolyNeural]\n好。"
    line = refused(render(tmp_path, "--engine", "edge", text=text))
    assert "unknown voice 'en-NZ-MolyNeural'" in line and "en-NZ-MollyNeural" in line
    good = render(tmp_path, "--engine", "edge", text=text.replace("MolyN", "MollyN"))
    assert good.returncode == 0, good.stderr.decode()


def test_unknown_voice_names_close_matches():
    with pytest.raises(InputError, match=r"did you mean zm_yunxi\b"):
        selection.choose("kokoro", "zm_yunxy", "zh")


# --- voicer voices --engine edge ------------------------------------------------------------


@pytest.mark.slow
def test_voices_offline_says_the_list_is_the_bundled_one(tmp_path):
    result = run_voicer("voices", "--engine", "edge", cwd=tmp_path)
    assert result.returncode == 0
    (notice,) = result.stderr.decode().strip().splitlines()
    assert notice.startswith("voicer: the edge service cannot be reached; ")
    assert "the list bundled with voicer" in notice
    names = [line.split()[0] for line in result.stdout.decode().splitlines()]
    assert "zh-CN-YunyangNeural" in names and "en-NZ-MollyNeural" not in names


def test_voices_online_lists_the_service_quietly(edge_server, tmp_path):
    result = invoke_voicer("voices", "--engine", "edge", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr.decode() == ""
    names = [line.split()[0] for line in result.stdout.decode().splitlines()]
    assert "en-NZ-MollyNeural" in names


# --- voicer voices --engine kokoro, and what render --help says about engines and input ------


@pytest.mark.parametrize("installed", [True, False])
def test_kokoro_voices_say_which_need_the_english_extra(tmp_path, monkeypatch, installed):
    from voicer.synthesis.engines import kokoro_english

    monkeypatch.setattr(kokoro_english, "available", lambda: installed)
    result = invoke_voicer("voices", "--engine", "kokoro", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.decode().splitlines()}
    needs = "needs voicer[english]"
    said = f"{needs} (installed)" if installed else f"{needs}, not installed: pip install '"
    for name in ("af_heart", "am_michael", "bf_emma", "bm_george"):
        assert said in lines[name], lines[name]
    assert not any("voicer[english]" in lines[name] for name in lines if name.startswith("z"))


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "3"])
def test_render_help_says_the_engines_own_jobs_and_every_input(tmp_path, monkeypatch, workers):
    result = run_voicer("render", "--help", cwd=tmp_path, env={"VOICER_KOKORO_WORKERS": workers})
    said = " ".join(result.stdout.decode().split())
    # the engines a render would make, as many sentences at once as they take by default
    monkeypatch.setenv("VOICER_KOKORO_WORKERS", workers)
    edge, kokoro = (registry.create(name).default_jobs for name in ("edge", "kokoro"))
    assert f"[default: edge {edge}, kokoro {kokoro} (" in said
    assert (
        "INPUT (a text file, Markdown when it ends in .md or .markdown, or - for standard " in said
    )
