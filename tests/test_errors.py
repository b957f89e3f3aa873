"""Errors as data: where a failure is and what it is stay attributes, through every wrapping,
and the CLI alone decides the exit code."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import voicer.errors
from voicer import cli, pipeline
from voicer.errors import EngineUnavailable, InputError, SynthesisError, VoicerError
from voicer.model import Script
from voicer.script import lint, markup, placeholders, prepare, spoken_form
from voicer.studio.session import Rendering

VOICE = "zh-CN-XiaoxiaoNeural"


def _error_classes() -> list[type[VoicerError]]:
    found, waiting = [], [VoicerError]
    while waiting:
        kind = waiting.pop()
        found.append(kind)
        waiting += kind.__subclasses__()
    return found


# --- where and why ---------------------------------------------------------------------------


LITERAL = "write [[ for a literal ["


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("一。\n二[pause 0s]", 2, 2, "the pause in [pause 0s] must be longer than 0 and at "
         "most 60 s"),
        ("[voice]", 1, 1, "[voice] names no voice, e.g. [voice zh-CN-YunxiNeural] or "
         "[voice default]"),
        ("今天 [rate fast]", 1, 4, "bad rate in [rate fast]: expected a percentage such as +10% "
         "or -5%, or default"),
        ("行[hang2 zhang3]", 1, 2, "the reading [hang2 zhang3] needs 2 Han characters right "
         f"before it (one per syllable), found 1 ({LITERAL})"),
        ("好\n\n  [x", 3, 3, f"unclosed [ (markup ends with ] on its line; {LITERAL})"),
    ],
)  # fmt: skip
def test_a_markup_error_carries_its_line_column_and_reason(text, line, column, reason):
    with pytest.raises(InputError) as caught:
        markup.parse(text)
    error = caught.value
    assert (error.line, error.column, error.reason) == (line, column, reason)
    assert str(error) == f"{line}:{column}: {reason}"


def test_prepare_moves_a_markup_error_to_where_the_author_wrote_it():
    # "*" filled with "5.2" moves the markup two columns right in the text that is parsed
    script = Script("第二行\n增长*%，[pause 0s]", "in.txt", "zh")
    with pytest.raises(InputError) as caught:
        prepare.prepare(script, {"*": ["5.2"]})
    error = caught.value
    assert (error.line, error.column) == (2, 6)
    assert error.reason.startswith("the pause in [pause 0s] must be longer than 0")
    assert str(error) == f"2:6: {error.reason}"


def test_check_reports_a_markup_error_at_its_place_with_its_reason():
    script = Script("第一句。\n第二句[pause 2 minutes]。", "in.txt", "zh")
    findings = lint.script_findings(script, lambda text: 1)
    assert [(f.line, f.column, f.kind, f.message) for f in findings] == [
        (2, 4, "markup", "bad pause length in [pause 2 minutes]: write seconds or "
         "milliseconds, e.g. [pause 1.5s] or [pause 800ms]"),
    ]  # fmt: skip


def test_a_fill_file_error_names_the_file_and_line(tmp_path: Path):
    fills = tmp_path / "fills.txt"
    fills.write_text("*=上海\n\nno pair here\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        placeholders.load_fill_file(fills)
    error = caught.value
    assert (error.source, error.line, error.column) == (str(fills), 3, None)
    assert str(error) == f"{fills}:3: expected KEY=VALUE or KEY<tab>VALUE, got 'no pair here'"


@pytest.mark.parametrize("load", [placeholders.load_fill_file, spoken_form.load_lexicon])
def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path, load):
    path = tmp_path / "values.toml"
    path.write_text('"*" = "上海"\n"x" = \n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load(path)
    assert (caught.value.source, caught.value.line) == (str(path), 2)
    assert str(caught.value).startswith(f"{path}:2:")


# --- wrapping --------------------------------------------------------------------------------


def test_wrapping_keeps_class_flags_and_place_and_leaves_the_original_as_it_was():
    original = EngineUnavailable("edge: HTTP 429", throttled=True)
    wrapped = original.within("line 3").within("a.txt")
    assert type(wrapped) is EngineUnavailable
    assert (wrapped.transient, wrapped.throttled, wrapped.reason) == (True, True, "edge: HTTP 429")
    assert str(wrapped) == "a.txt: line 3: edge: HTTP 429"
    assert str(original) == "edge: HTTP 429"  # shared with every thread waiting for the clip
    placed = InputError("unknown markup [x]", line=2, column=5).within("--fill")
    assert (str(placed), placed.line, placed.column) == ("--fill: 2:5: unknown markup [x]", 2, 5)


def test_an_error_sent_to_another_process_keeps_its_data():
    error = SynthesisError("edge: no answer", transient=True).within("line 1")
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), str(back), back.transient, back.context) == (
        SynthesisError,
        "line 1: edge: no answer",
        True,
        ("line 1",),
    )
    place = pickle.loads(pickle.dumps(InputError("bad", source="a.tsv", line=4, column=2)))
    assert (str(place), place.source, place.line, place.column) == ("a.tsv:4:2: bad", "a.tsv", 4, 2)


@pytest.mark.parametrize(("mode", "throttled"), [("http429", True), ("http503", False)])
def test_a_transient_failure_stays_transient_through_the_pipeline(edge_server, mode, throttled):
    script = Script("今天开会。", "in.txt", "zh")
    options = pipeline.RenderOptions(engine="edge", voice=VOICE, retries=0, use_cache=False)
    plan = pipeline.prepare(script, options)
    speaker = pipeline.open_speaker(plan, options)
    edge_server.set_mode(mode)
    with pytest.raises(SynthesisError) as caught:
        pipeline.synthesise_sentence(speaker, plan, 0)
    error = caught.value
    assert type(error) is SynthesisError
    assert (error.transient, error.throttled) == (True, throttled)
    assert error.context == ("line 1 (“今天开会。”)",)
    assert str(error).startswith("line 1 (“今天开会。”): edge: the service answered HTTP ")
    assert str(error).endswith(" (gave up after 1 attempt)")


# --- exit codes ------------------------------------------------------------------------------


def test_the_exit_code_table_names_every_error_class_voicer_raises():
    defined = {
        kind
        for kind in vars(voicer.errors).values()
        if isinstance(kind, type) and issubclass(kind, VoicerError)
    }
    assert defined == set(cli.EXIT_CODES)
    assert cli.EXIT_CODES[InputError] == 2
    classes = _error_classes()
    assert Rendering in classes  # the studio's own: it takes its base class's code
    for kind in classes:
        assert not hasattr(kind, "exit_code"), kind
        assert cli.exit_code(kind("x")) == (2 if issubclass(kind, InputError) else 1), kind
