"""What voicer batch renders: a folder's scripts or a manifest's, with options by precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from speech_audio import run_voicer

from voicer import cli
from voicer.batch import manifest
from voicer.batch.manifest import Entry, entries
from voicer.errors import InputError
from voicer.options import Level
from voicer.pipeline import RenderOptions

SPEECH = "同志们：\n　　今年以来，全市GDP增长*%，居全省第*位。\n"


def _files(folder: Path, *names: str, text: str = SPEECH) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _manifest(folder: Path, text: str, name: str = "batch.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(source: Path, out: Path | None = None, given=None, explicit=()) -> str:
    with pytest.raises(InputError) as caught:
        entries(source, out or source.parent / "out", given or {}, explicit)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- a folder ---------------------------------------------------------------------------------


def test_a_folder_gives_its_txt_and_md_scripts_sorted_by_name(tmp_path):
    _files(tmp_path, "b.md", "a.txt", "c.TXT", ".hidden.txt", "notes.docx", "sub/d.txt")
    (tmp_path / "folder.md").mkdir()
    made = entries(tmp_path, tmp_path / "out", {}, ())
    assert [entry.script.name for entry in made] == ["a.txt", "b.md", "c.TXT"]
    assert made[0] == Entry(
        tmp_path / "a.txt",
        RenderOptions(),
        manifest.pipeline.Outputs(tmp_path / "out/a.mp3", (tmp_path / "out/a.srt",), None),
    )


def test_a_folder_takes_the_command_lines_settings_and_output_choices(tmp_path):
    _files(tmp_path, "a.txt", "b.md")
    given = {"voice": "zm_yunxi", "format": "wav", "subtitles": ("vtt", "ass"), "timeline": True}
    made = entries(tmp_path, Path("out"), given, {"voice"})
    assert {entry.options.voice for entry in made} == {"zm_yunxi"}
    assert made[1].outputs.all() == [
        Path("out/b.wav"),
        Path("out/b.srt"),
        Path("out/b.vtt"),
        Path("out/b.ass"),
        Path("out/b.json"),
    ]


def test_a_folder_without_scripts_says_so(tmp_path):
    _files(tmp_path, "notes.docx")
    assert _error(tmp_path) == f"{tmp_path}: holds no .txt or .md script"


def test_two_scripts_with_one_stem_are_refused_naming_both(tmp_path):
    _files(tmp_path, "talk.txt", "talk.md")
    message = _error(tmp_path)
    assert str(tmp_path / "talk.md") in message and str(tmp_path / "talk.txt") in message
    assert "same name" in message


def test_a_source_that_is_neither_folder_nor_manifest(tmp_path):
    _files(tmp_path, "a.txt")
    assert "neither a folder of scripts nor a .toml manifest" in _error(tmp_path / "a.txt")
    assert _error(tmp_path / "nothing") == f"{tmp_path / 'nothing'}: no such folder or manifest"
    assert "no such file" in _error(tmp_path / "missing.toml")


# --- a manifest -------------------------------------------------------------------------------

EXAMPLE = """
[defaults]            # for every script; any render option
engine = "kokoro"
voice = "zm_yunxi"
format = "mp3"
subtitles = ["vtt"]

[[script]]
path = "chapters/01.txt"          # relative to the manifest's folder
voice = "zf_xiaobei"
fills = { "*" = ["上海", "北京"] }
lexicon = "names.tsv"
fill_file = "values.toml"

[[script]]
path = "chapters/02.md"
sentence-pause = 600
max-chars = 14
no-cache = true
format = "wav"
timeline = true
"""


def test_the_documented_manifest(tmp_path):
    folder = tmp_path / "batch"
    _files(folder, "chapters/01.txt", "chapters/02.md")
    (folder / "names.tsv").write_text("张三\t张三\n", encoding="utf-8")
    (folder / "values.toml").write_text('"*" = "5.2"\n', encoding="utf-8")
    first, second = entries(_manifest(folder, EXAMPLE), tmp_path / "out", {}, ())
    assert first.script == folder / "chapters/01.txt"
    assert first.options == RenderOptions(
        engine="kokoro",
        voice="zf_xiaobei",
        lexicon=folder / "names.tsv",
        fills={"*": ["5.2", "上海", "北京"]},  # the fill file's, then the entry's
        fill_file=folder / "values.toml",
    )
    assert first.outputs.all() == [tmp_path / f"out/01.{ext}" for ext in ("mp3", "srt", "vtt")]
    assert second.options == RenderOptions(
        engine="kokoro",
        voice="zm_yunxi",
        sentence_pause_ms=600,
        max_chars=14.0,
        use_cache=False,
    )
    assert second.outputs.all() == [
        tmp_path / f"out/02.{ext}" for ext in ("wav", "srt", "vtt", "json")
    ]


def test_paths_are_relative_to_the_manifests_folder_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _files(tmp_path, "batch/a.txt", "batch/cache/.keep")
    (tmp_path / "batch/model.onnx").write_bytes(b"")
    text = (
        '[defaults]\nkokoro_model = "model.onnx"\ncache-dir = "cache"\n[[script]]\npath = "a.txt"\n'
    )
    (made,) = entries(_manifest(Path("batch"), text), Path("out"), {}, ())
    assert made.script == Path("batch/a.txt")
    assert made.options.kokoro_model == Path("batch/model.onnx")
    assert made.options.cache_dir == Path("batch/cache")
    assert made.outputs.audio == Path("out/a.mp3")


def test_fills_in_every_form(tmp_path):
    _files(tmp_path, "a.txt", "b.txt", "c.txt")
    text = """
[[script]]
path = "a.txt"
fills = { "*" = "上海", "{city}" = ["北京"] }
[[script]]
path = "b.txt"
fill = ["*=上海", "*=5.2"]
[[script]]
path = "c.txt"
fills = "2:15=5.2"
"""
    made = entries(_manifest(tmp_path, text), tmp_path / "out", {}, ())
    assert [entry.options.fills for entry in made] == [
        {"*": ["上海"], "city": ["北京"]},
        {"*": ["上海", "5.2"]},
        {"2:15": ["5.2"]},
    ]


def test_a_manifest_fill_file_comes_before_the_command_lines_fills(tmp_path):
    _files(tmp_path, "a.txt")
    (tmp_path / "values.txt").write_text("*=上海\n", encoding="utf-8")
    path = _manifest(tmp_path, '[[script]]\npath = "a.txt"\nfill-file = "values.txt"\n')
    (made,) = entries(path, tmp_path / "out", {"fills": {"*": ["5.2"]}}, {"fills"})
    assert made.options.fills == {"*": ["上海", "5.2"]}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("voise = 'x'", "unknown option 'voise'"),
        ("voice = 3", "voice must be a string, not 3"),
        ("sentence_pause_ms = '400'", "sentence_pause_ms must be an integer, not '400'"),
        ("sentence-pause = 4.5", "sentence-pause must be an integer, not 4.5"),
        ("max-chars = 2", "max-chars must be from 4 to 200, not 2.0"),
        ("jobs = true", "jobs must be an integer, not True"),
        ("bwf = 'yes'", "bwf must be true or false, not 'yes'"),
        ("engine = 'espeak'", "engine must be one of auto, edge, kokoro, tone, not 'espeak'"),
        ("bit-depth = 20", "bit-depth must be one of 16, 24, not 20"),
        ("loudness = 'loud'", "loudness must be one of"),
        ("cache-max = '2 lots'", "cache-max: invalid cache size '2 lots'"),
        ("format = 'mp5'", "format: unknown format 'mp5' (use one of wav, flac, mp3,"),
        ("subtitles = ['sub']", "subtitles: unknown subtitle format 'sub' (use vtt, ass;"),
        ("timeline = 'yes'", "timeline: must be true or false, not 'yes'"),
        ("fills = { '*' = 5.2 }", "fills: must be a table of a string or a list of strings"),
        ("fill = ['上海']", "fill: expected KEY=VALUE"),
        ("lexicon = 'names.tsv'", "lexicon: no such file"),
        ("fill_file = 'values.toml'", "fill_file: no such file"),
        ("video = 'x.mp4'", "unknown option 'video'"),
        ("sentence-pause = 500\nsentence_pause_ms = 500", "set the same option"),
        ("bitrate = '192k'\nformat = 'wav'", "--bitrate applies to lossy formats, not WAV"),
    ],
)
def test_a_bad_option_names_the_manifest_the_entry_and_the_key(tmp_path, entry, message):
    _files(tmp_path, "chapters/01.txt", "chapters/02.txt", "chapters/03.txt")
    text = "".join(f'[[script]]\npath = "chapters/0{n}.txt"\n' for n in (1, 2))
    path = _manifest(tmp_path, f'{text}[[script]]\npath = "chapters/03.txt"\n{entry}\n')
    found = _error(path)
    assert found.startswith(f"{path}: script 3 (chapters/03.txt): ")
    assert message in found


def test_a_bad_default_names_the_defaults(tmp_path):
    _files(tmp_path, "a.txt")
    path = _manifest(tmp_path, '[defaults]\nvoise = "x"\n[[script]]\npath = "a.txt"\n')
    assert _error(path) == f"{path}: [defaults]: unknown option 'voise'"


def test_a_missing_script_is_named(tmp_path):
    _files(tmp_path, "a.txt")
    path = _manifest(tmp_path, '[[script]]\npath = "a.txt"\n[[script]]\npath = "b.txt"\n')
    message = _error(path)
    assert message == f"{path}: script 2 (b.txt): no such file {tmp_path / 'b.txt'}"


def test_every_problem_of_a_manifest_is_reported_a_line_each(tmp_path):
    _files(tmp_path, "a.txt", "b.txt", "c.txt")
    text = (
        "colour = 1\n"
        "[defaults]\nvoise = 'x'\n"
        "[[script]]\npath = 'a.txt'\nsentence-pause = -5\nformat = 'doc'\n"
        "[[script]]\npath = 'missing.txt'\nvoice = 3\n"
        "[[script]]\npath = 'b.txt'\n"
        "[[script]]\npath = './b.txt'\n"
        "[[script]]\nvoice = 'x'\n"
        "[[script]]\npath = 'c.txt'\nlexicon = 'none.tsv'\n"
    )
    path = _manifest(tmp_path, text)
    with pytest.raises(InputError) as caught:
        entries(path, tmp_path / "out", {}, ())
    assert cli.exit_code(caught.value) == 2
    assert str(caught.value).splitlines() == [
        f"{path}: unknown key 'colour' (a manifest has [defaults] and [[script]] only)",
        f"{path}: [defaults]: unknown option 'voise'",
        f"{path}: script 1 (a.txt): sentence-pause must be from 0 to 10000, not -5",
        f"{path}: script 1 (a.txt): format: unknown format 'doc' (use one of "
        f"{', '.join(manifest.FORMAT_NAMES)})",
        f"{path}: script 2 (missing.txt): no such file {tmp_path / 'missing.txt'}",
        f"{path}: script 2 (missing.txt): voice must be a string, not 3",
        f"{path}: script 4 (./b.txt): the same script as script 3 (b.txt)",
        f'{path}: script 5: needs a path = "..." (a string)',
        f"{path}: script 6 (c.txt): lexicon: no such file {tmp_path / 'none.tsv'}",
    ]


@pytest.mark.slow
def test_the_cli_says_each_problem_of_a_manifest_on_a_line_of_its_own(tmp_path):
    _files(tmp_path, "a.txt")
    text = "[[script]]\npath = 'a.txt'\nvoise = 'x'\n[[script]]\npath = 'b.txt'\n"
    _manifest(tmp_path, text)
    ran = run_voicer("batch", "batch.toml", "-o", "out", "--engine", "tone", cwd=tmp_path)
    assert ran.returncode == 2
    assert ran.stderr.decode().splitlines() == [
        "voicer: error: batch.toml: script 1 (a.txt): unknown option 'voise'",
        "voicer: error: batch.toml: script 2 (b.txt): no such file",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "lists no script to render"),
        ("[defaults]\nvoice = 'x'\n", "lists no script to render"),
        ("[script]\npath = 'a.txt'\n", "each script is a table of its own: [[script]]"),
        ("[[script]]\nvoice = 'x'\n", 'script 1: needs a path = "..." (a string)'),
        ("[[scripts]]\npath = 'a.txt'\n[[script]]\npath = 'a.txt'\n", "unknown key 'scripts'"),
        ("defaults = 3\n[[script]]\npath = 'a.txt'\n", "defaults must be a table"),
        (
            "[[script]]\npath = 'a.txt'\n[[script]]\npath = './a.txt'\n",
            "script 2 (./a.txt): the same script as script 1 (a.txt)",
        ),
        ("[[script]]\npath = = 'a.txt'\n", ":2:8: "),  # TOML syntax: the line and column
    ],
)
def test_a_malformed_manifest_is_one_line_naming_it(tmp_path, text, message):
    _files(tmp_path, "a.txt")
    path = _manifest(tmp_path, text)
    found = _error(path)
    assert found.startswith(str(path)) and message in found


def test_two_manifest_scripts_with_one_stem_are_refused(tmp_path):
    _files(tmp_path, "one/talk.txt", "two/talk.txt")
    text = "[[script]]\npath = 'one/talk.txt'\n[[script]]\npath = 'two/talk.txt'\n"
    message = _error(_manifest(tmp_path, text))
    assert str(tmp_path / "one/talk.txt") in message and str(tmp_path / "two/talk.txt") in message


def test_a_timeline_where_the_batch_report_goes_is_refused(tmp_path):
    _files(tmp_path, "report.txt")
    assert entries(tmp_path, tmp_path / "out", {}, ())  # report.mp3 and report.srt are fine
    message = _error(tmp_path, given={"timeline": True})
    assert "report.json is where the batch report goes" in message


def test_command_line_output_choices_are_checked_too(tmp_path):
    _files(tmp_path, "a.txt")
    assert _error(tmp_path, given={"format": "doc"}).startswith("--format: unknown format 'doc'")
    assert _error(tmp_path, given={"subtitles": ["sub"]}).startswith("--subtitles: unknown")
    (made,) = entries(tmp_path, tmp_path / "out", {"format": ".MP4", "subtitles": ["srt"]}, ())
    assert made.outputs.all() == [tmp_path / "out/a.mp4", tmp_path / "out/a.srt"]


# --- precedence -------------------------------------------------------------------------------

LEVELS = ("untyped", "defaults", "typed", "entry")


VALUES = {  # an option, and its value at each level
    "voice": ["v0", "v1", "v2", "v3"],
    "sentence_pause_ms": [100, 101, 102, 103],
    "fps": [24.0, 25.0, 29.97, 30.0],
    "format": ["wav", "flac", "ogg", "m4a"],
}


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(VALUES)), st.sets(st.sampled_from(LEVELS)))
def test_each_option_comes_from_the_highest_level_that_sets_it(tmp_path, name, levels):
    values = VALUES[name]
    _files(tmp_path, "a.txt")
    defaults = f"{name} = {json.dumps(values[1])}\n" if "defaults" in levels else ""
    own = f"{name} = {json.dumps(values[3])}\n" if "entry" in levels else ""
    path = _manifest(tmp_path, f'[defaults]\n{defaults}[[script]]\npath = "a.txt"\n{own}')
    given_: dict[str, object] = {}
    if "untyped" in levels:
        given_[name] = values[0]
    if "typed" in levels:
        given_[name] = values[2]
    explicit = {name} if "typed" in levels else set()
    (made,) = entries(path, tmp_path / "out", given_, explicit)
    if name == "format":
        found, default = made.outputs.audio.suffix[1:], manifest.DEFAULT_FORMAT
    else:
        found, default = getattr(made.options, name), getattr(RenderOptions(), name)
    highest = max((LEVELS.index(level) for level in levels), default=None)
    assert found == (default if highest is None else values[highest])


def test_untyped_command_line_values_are_only_defaults(tmp_path):
    _files(tmp_path, "a.txt", "b.txt")
    text = (
        '[defaults]\nvoice = "zm_yunxi"\n'
        '[[script]]\npath = "a.txt"\n[[script]]\npath = "b.txt"\nvoice = "zf_xiaobei"\n'
    )
    path = _manifest(tmp_path, text)
    given = {"voice": "typed", "rate": Level(5, "%"), "engine": "auto"}
    a, b = entries(path, tmp_path / "out", given, {"rate"})
    assert (a.options.voice, str(a.options.rate), a.options.engine) == ("zm_yunxi", "+5%", "auto")
    assert b.options.voice == "zf_xiaobei"
    a, b = entries(path, tmp_path / "out", given, {"voice", "rate"})
    assert (a.options.voice, b.options.voice) == ("typed", "zf_xiaobei")
