"""Every render option is declared once (voicer.options): the command line, a manifest's keys
and RenderOptions are made from that declaration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest
from speech_audio import invoke_voicer

from voicer import cli, pipeline
from voicer import options as declared
from voicer.batch import manifest
from voicer.errors import InputError
from voicer.pipeline import RenderOptions
from voicer.video.picture import VideoSettings


def _fields(kind: type) -> set[str]:
    return {field.name for field in dataclasses.fields(kind)}


def test_every_field_of_render_options_is_declared_once():
    names = [option.name for option in declared.OPTIONS]
    assert len(names) == len(set(names))
    assert {o.name for o in declared.OPTIONS if not o.video} == _fields(RenderOptions) - {"video"}
    assert set(declared.VIDEO_NAMES) == _fields(VideoSettings)


def test_the_options_are_declared_where_they_are_fields():
    import voicer

    assert voicer.RenderOptions is RenderOptions is declared.RenderOptions
    assert VideoSettings is declared.VideoSettings
    rate = {field.name: field for field in dataclasses.fields(RenderOptions)}["rate"]
    assert rate.metadata["option"].flag == declared.BY_NAME["rate"].flag == "--rate"


def test_render_options_defaults_are_the_declared_ones():
    made = RenderOptions()
    for option in declared.OPTIONS:
        assert declared.value(made, option) == option.default, option.name


def test_render_options_of_settings_by_declared_name(tmp_path):
    fills = tmp_path / "fills.toml"
    fills.write_text('"*" = "上海"\n', encoding="utf-8")
    settings = {"rate": "+5%", "burn_in": True, "fills": {"*": ["北京"]}, "fill_file": fills}
    made = pipeline.options_of(settings)
    assert (made.rate, made.video.burn_in, made.fill_file) == ("+5%", True, fills)
    assert made.fills == {"*": ["上海", "北京"]}
    assert pipeline.options_of({}) == RenderOptions()


def _params(command: click.Command) -> dict[str, click.Option]:
    return {p.name: p for p in command.params if isinstance(p, click.Option) and p.name}


def test_render_takes_every_declared_option_as_declared():
    params = _params(cli.render_command)
    for option in declared.OPTIONS:
        if option.flag is None:
            assert option.name not in params
            continue
        param = params[option.name]
        assert option.flag in param.opts, option.name
        if option.bounds is not None and option.kind in ("int", "float"):
            assert (param.type.min, param.type.max) == option.bounds, option.name  # type: ignore[attr-defined]
        if option.choices is not None:
            assert tuple(param.type.choices) == option.choices, option.name  # type: ignore[attr-defined]


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
        else:
            found.append((prefix + name, command))
    return found


def test_every_option_of_every_command_has_a_help_line():
    context = click.Context(cli.cli)
    for name, command in _commands(cli.cli):
        for param in command.params:
            if isinstance(param, click.Option):
                record = param.get_help_record(context)
                assert record is not None and param.help, f"{name} {param.opts}"


def test_every_flag_is_a_manifest_key_of_its_option():
    for option in declared.OPTIONS:
        if option.in_manifests:
            assert manifest.KEYS[option.name] is option
            if option.spelled:
                assert manifest.KEYS[option.spelled] is option
        else:
            assert option.name not in manifest.KEYS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "k must be an integer, not True"),
        (20000, "k must be from 0 to 10000, not 20000"),
        ("400", "k must be an integer, not '400'"),
    ],
)
def test_a_declared_option_checks_its_values(value, message):
    with pytest.raises(Exception, match=f"^{message}$"):
        declared.BY_NAME["sentence_pause_ms"].checked(value, "k")


def test_help_lists_the_outputs_first_then_the_stages_in_order():
    shown = invoke_voicer("render", "--help", cwd=Path("."), text=True).stdout
    headings = ["Outputs:", "Options:", *(f"{stage}:" for stage in declared.STAGES)]
    places = [shown.index(f"\n{heading}\n") for heading in headings]
    assert places == sorted(places)
    assert shown.index("--output") < shown.index("--quiet") < shown.index("--engine")
    assert "tone: a synthetic voice" in " ".join(shown.split())


def test_typed_values_are_read_once_and_kept_typed(tmp_path):
    table = {"rate": "+10%", "pitch": "-2Hz", "cache-max": "2G"}
    read = manifest.options_from(table, tmp_path, "m.toml: [defaults]")
    assert read == {
        "rate": declared.Level(10, "%"),
        "pitch": declared.Level(-2, "Hz"),
        "cache_max": 2_000_000_000,
    }
    assert str(pipeline.options_of(read).rate) == "+10%"
    with pytest.raises(InputError) as caught:
        manifest.options_from({"rate": "+500%"}, tmp_path, "m.toml: [defaults]")
    assert str(caught.value) == (
        "m.toml: [defaults]: rate: invalid rate '+500%': must be between -50% and +100%"
    )
