"""What ``voicer batch`` renders: every script of a folder, or the scripts a manifest lists,
each with its render options and where its outputs go.

SOURCE is either a folder, whose ``*.txt`` and ``*.md`` files (directly in it, not hidden,
sorted by name) are rendered with the command line's settings, or a manifest, a TOML file::

    [defaults]                          # for every script; any render option
    engine = "kokoro"
    voice = "zm_yunxi"
    format = "mp3"
    subtitles = ["vtt"]

    [[script]]
    path = "chapters/01.txt"            # relative to the manifest's folder
    voice = "zf_xiaobei"
    fills = { "*" = ["上海", "北京"] }   # or "*" = "上海"; or ["*=上海", "*=北京"], as --fill
    lexicon = "names.tsv"               # relative to the manifest's folder
    fill_file = "values.toml"           # relative to the manifest's folder; as --fill-file

    [[script]]
    path = "chapters/02.md"

Keys are the options :mod:`voicer.options` declares, by their names (``sentence_pause_ms``) or
the command line's spellings (``sentence-pause``, ``max-chars``, ``lead-in``, ``no-cache = true``,
``fill`` for ``fills``); see ``KEYS``. Values have the option's type (a TOML string, integer,
float or boolean; a float option takes an integer too), within its limits and choices.
``cache_max`` is a size (``"2G"``) or a number of bytes. Paths (``path``, ``lexicon``,
``fill_file``, ``kokoro_model``, ``cache_dir``) are relative to the manifest's folder.
The video settings (``background``, ``video_in``, ``mix``, ...) are not taken from a
manifest yet: they come from the command line only.

Three keys say what is written, for each script ``STEM.txt`` or ``STEM.md``, into OUT:

- ``format``: the main output, ``OUT/STEM.<format>``: ``mp3`` (default), ``wav``, ``flac``,
  ``m4a``, ``ogg``, ``opus``, or a video, ``mp4``, ``mkv``, ``webm``;
- ``subtitles``: further subtitle formats beside ``OUT/STEM.srt`` (always written): a list of
  ``"vtt"`` and ``"ass"``;
- ``timeline``: ``true`` also writes the JSON timeline ``OUT/STEM.json``.

Each option is taken from the first of these that sets it: the script's own ``[[script]]``
entry, the options typed on the command line, the manifest's ``[defaults]``, the command
line's own defaults (an option not typed), RenderOptions' defaults. Placeholder values are
those of the chosen ``fill_file``, then the chosen ``fills`` added after them, as
``--fill-file`` and ``--fill`` are on the command line.

Problems are found before anything is rendered, all of them, and reported together in one
``InputError``, a line each naming the manifest and the entry (``batch.toml: script 3
(chapters/03.txt): unknown option 'voise'``): unknown keys, values of the wrong type or out of
range, a script or a file that does not exist, a script listed twice, two scripts whose
outputs would have the same name, an output that would replace a file the batch reads,
a stamps folder (``OUT/.voicer-batch``) that is a link.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicer import files, pipeline
from voicer import options as declared
from voicer.audio.delivery import FORMATS as AUDIO_FORMATS
from voicer.batch import report
from voicer.errors import InputError
from voicer.script import placeholders
from voicer.script.reading import decode
from voicer.subtitles import formats
from voicer.video.containers import CONTAINERS

SCRIPT_SUFFIXES = (".txt", ".md")
STAMPS = ".voicer-batch"  # the folder in OUT that holds what made each script's outputs
DEFAULT_FORMAT = "mp3"
OUTPUT_CHOICES = ("format", "subtitles", "timeline")  # what is written, beside the options
FORMAT_NAMES = tuple(suffix[1:] for suffix in (*AUDIO_FORMATS, *CONTAINERS))
SUBTITLE_NAMES = tuple(suffix[1:] for suffix in formats.FORMATS if suffix != ".srt")

# each key a manifest may set, dashes read as underscores, and its option
KEYS: dict[str, declared.Option] = declared.manifest_keys()

Listed = tuple[Path, str, dict[str, Any]]  # a script, how messages name it, its own options


@dataclass(frozen=True)
class Entry:
    """One script to render: the file, its options, and its outputs in OUT."""

    script: Path
    options: pipeline.RenderOptions
    outputs: pipeline.Outputs

    @property
    def stamp(self) -> Path:
        """Where a batch records what made the outputs: ``OUT/.voicer-batch/STEM.json``."""
        return self.outputs.audio.parent / STAMPS / f"{self.outputs.audio.stem}.json"

    def written(self) -> list[Path]:
        """Every file a batch writes for this script: its outputs and its stamp."""
        return [*self.outputs.all(), self.stamp]

    def inputs(self) -> list[Path]:
        """The files a batch reads for this script: the script, its fill file, lexicon and
        model, and the video files it narrates or draws with."""
        options, video = self.options, self.options.video
        named = (self.script, options.fill_file, options.lexicon, options.kokoro_model,
                 video.video_in, video.background, video.font)  # fmt: skip
        return [Path(name) for name in named if name is not None and Path(name).is_file()]


def entries(
    source: Path, out: Path, settings: Mapping[str, Any], explicit: Collection[str]
) -> list[Entry]:
    """What to render: the scripts of ``source`` (a folder or a manifest ``.toml`` file), each
    with its options and its outputs in ``out``, named by the script's stem.

    ``settings`` are the command line's keyword arguments for ``pipeline.RenderOptions``
    (``fills`` and the ``fill_file`` whose values come before them), plus ``format``,
    ``subtitles`` and ``timeline``; ``explicit`` names those the user typed. The rest are
    only defaults, which a manifest's ``[defaults]`` overrides (precedence: module docstring).
    """
    given = {name: _checked_choice(name, value) for name, value in settings.items()}
    typed = {name: value for name, value in given.items() if name in explicit}
    untyped = {name: value for name, value in given.items() if name not in explicit}
    scripts: list[Listed]
    if source.is_dir():
        scripts = [(path, str(path), {}) for path in folder_scripts(source)]
        defaults: dict[str, Any] = {}
    elif source.suffix.lower() == ".toml":
        defaults, scripts = read_manifest(source)
    elif source.exists():
        raise InputError(f"{source}: neither a folder of scripts nor a .toml manifest")
    else:
        raise InputError(f"{source}: no such folder or manifest")
    problems = Problems()
    made = []
    for script, where, own in scripts:
        with problems.noted():
            made.append(_entry(script, {**untyped, **defaults, **typed, **own}, out, where))
    with problems.noted():
        _check_distinct_outputs(made)
    with problems.noted():
        _check_inputs_kept(made, out, source)
    with problems.noted():
        _check_stamps_folder(out)
    problems.raise_them()
    return made


class Problems:
    """The problems found so far, so that all are reported at once: an InputError raised in
    a ``with problems.noted():`` block is kept (each of its lines one problem) and the work
    goes on; :meth:`raise_them` raises one InputError with every problem, a line each."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    @contextlib.contextmanager
    def noted(self) -> Iterator[None]:
        try:
            yield
        except InputError as error:
            self.lines.extend(str(error).splitlines())

    def raise_them(self) -> None:
        if self.lines:
            raise InputError("\n".join(self.lines))


def folder_scripts(folder: Path) -> list[Path]:
    """The scripts directly in ``folder``: its ``.txt`` and ``.md`` files that are not hidden,
    sorted by name, but the report of a batch that wrote into the folder; an InputError when
    there is none."""
    found = sorted(
        path
        for path in folder.iterdir()
        if path.suffix.lower() in SCRIPT_SUFFIXES and not path.name.startswith(".")
        if path.is_file() and not report.is_batch_report(path)
    )
    if not found:
        raise InputError(f"{folder}: holds no .txt or .md script")
    return found


def read_manifest(path: Path) -> tuple[dict[str, Any], list[Listed]]:
    """A manifest's ``[defaults]`` and, for each ``[[script]]``, the script's path, where it
    is in the manifest (for messages) and its own options; every value checked."""
    table = _toml(path)
    problems = Problems()
    problems.lines += [
        f"{path}: unknown key {unknown!r} (a manifest has [defaults] and [[script]] only)"
        for unknown in sorted(set(table) - {"defaults", "script"})
    ]
    folder = path.parent
    defaults: dict[str, Any] = {}
    with problems.noted():
        defaults = options_from(_defaults_table(path, table), folder, f"{path}: [defaults]")
    tables: list[dict[str, Any]] = []
    with problems.noted():
        tables = _script_tables(path, table)
    scripts = []
    seen: dict[Path, str] = {}
    for number, item in enumerate(tables, start=1):
        with problems.noted():
            scripts.append(_listed(path, number, item, seen))
    problems.raise_them()
    return defaults, scripts


def _defaults_table(path: Path, table: Mapping[str, Any]) -> dict[str, Any]:
    defaults = table.get("defaults", {})
    if not isinstance(defaults, dict):
        raise InputError(f"{path}: defaults must be a table: [defaults]")
    return defaults


def _script_tables(path: Path, table: Mapping[str, Any]) -> list[dict[str, Any]]:
    listed = table.get("script", [])
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        raise InputError(f"{path}: each script is a table of its own: [[script]]")
    if not listed:
        raise InputError(f"{path}: lists no script to render (add a [[script]] with a path)")
    return listed


def _listed(manifest: Path, number: int, item: dict[str, Any], seen: dict[Path, str]) -> Listed:
    """``[[script]]`` number ``number``: its script, how messages name it, its own options,
    every problem of the entry found; ``seen``, the scripts listed before, grows by it."""
    written = item.get("path")
    named = isinstance(written, str) and written.strip()
    where = f"{manifest}: script {number}" + (f" ({written})" if named else "")
    problems = Problems()
    with problems.noted():
        script = _script_path(manifest, item, where)
        if script.resolve() in seen:
            raise InputError(f"{where}: the same script as {seen[script.resolve()]}")
        seen[script.resolve()] = f"script {number} ({written})"
    with problems.noted():
        own = options_from({k: v for k, v in item.items() if k != "path"}, manifest.parent, where)
    problems.raise_them()  # else both are set
    return script, where, own


def _toml(path: Path) -> dict[str, Any]:
    text = decode(files.read_input(path, "manifest"), str(path))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise files.toml_error(error, path) from None


def _script_path(manifest: Path, item: Mapping[str, Any], where: str) -> Path:
    """The script of a ``[[script]]`` entry (relative to the manifest's folder), which
    messages name ``where``; an InputError when it has no path or there is no such file."""
    written = item.get("path")
    if not isinstance(written, str) or not written.strip():
        raise InputError(f'{where}: needs a path = "..." (a string)')
    script = manifest.parent / Path(written).expanduser()
    if not script.is_file():
        missing = "is a folder, not a script" if script.is_dir() else "no such file"
        shown = "" if str(script) == written else f" {script}"
        raise InputError(f"{where}: {missing}{shown}")
    return script


def options_from(table: Mapping[str, Any], folder: Path, where: str) -> dict[str, Any]:
    """The options of one manifest table, by RenderOptions' names (and the output choices),
    each value checked and converted; paths relative to ``folder``. ``where`` names the table
    in messages.

    >>> options_from({"sentence-pause": 500, "no-cache": True, "subtitles": ["VTT"]}, Path("."),
    ...              "m.toml: [defaults]")
    {'sentence_pause_ms': 500, 'use_cache': False, 'subtitles': ('vtt',)}
    """
    options: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    problems = Problems()
    for key, value in table.items():
        with problems.noted():
            name = _setting(key, where)
            if name in spelled:
                raise InputError(f"{where}: {key!r} and {spelled[name]!r} set the same option")
            spelled[name] = key
            options[name] = _value(key, value, folder, where)
    problems.raise_them()
    return options


def _setting(key: str, where: str) -> str:
    """The setting manifest key ``key`` sets: an option's name, or an output choice."""
    written = key.replace("-", "_")
    if written in OUTPUT_CHOICES:
        return written
    if written not in KEYS:
        raise InputError(f"{where}: unknown option {key!r}")
    return KEYS[written].name


def _value(key: str, value: Any, folder: Path, where: str) -> Any:
    """``value`` of manifest key ``key`` checked and converted."""
    written = key.replace("-", "_")
    if written in OUTPUT_CHOICES:
        return _converted(_OUTPUT_CONVERTERS[written], value, f"{where}: {key}")
    option = KEYS[written]
    try:
        value = option.checked(value, key)
    except InputError as error:
        raise error.within(where) from None
    if option.kind in ("path", "folder"):
        value = folder / Path(value).expanduser()
        if option.must_exist and not value.is_file():
            raise InputError(f"{where}: {key}: no such file {value}")
    elif option.kind in _CONVERTERS:
        value = _converted(_CONVERTERS[option.kind], value, f"{where}: {key}")
    elif isinstance(value, str):
        value = _converted(option.read, value, f"{where}: {key}")
    return not value if option.negated and written == option.spelled else value


def _converted(convert: Callable[[Any], Any], value: Any, context: str) -> Any:
    try:
        return convert(value)
    except InputError as error:
        raise error.within(context) from None


def _cache_size(value: Any) -> int:
    """``cache_max``: a size such as ``"2G"``, or bytes."""
    if isinstance(value, str):
        return declared.parse_size(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise InputError(f'must be a size such as "500M" or "2G", or 0, not {value!r}')


def _fills(value: Any) -> dict[str, list[str]]:
    """``fills``: a table of a string or a list of strings per key, or ``KEY=VALUE`` strings
    (one, or a list), as ``--fill`` takes them.

    >>> _fills({"*": "上海", "{city}": ["北京"]}), _fills(["*=a", "*=b"])
    ({'*': ['上海'], 'city': ['北京']}, {'*': ['a', 'b']})
    """
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(pair, str) for pair in value):
        for pair in value:
            if "=" not in pair or not pair.partition("=")[0].strip():
                raise InputError(f'expected KEY=VALUE, e.g. "*=上海", not {pair!r}')
        return placeholders.parse_fills(value)
    if isinstance(value, dict) and all(
        isinstance(given, str)
        or (isinstance(given, list) and all(isinstance(v, str) for v in given))
        for given in value.values()
    ):
        return placeholders.fill_values(None, value)
    raise InputError(
        'must be a table of a string or a list of strings per key ({ "*" = ["上海"] }), '
        'or KEY=VALUE strings (quote numbers: "5.20")'
    )


def _output_format(value: Any) -> str:
    """``format``: the main output's extension, without its dot, in lower case."""
    if not isinstance(value, str) or value.lower().lstrip(".") not in FORMAT_NAMES:
        raise InputError(f"unknown format {value!r} (use one of {', '.join(FORMAT_NAMES)})")
    return value.lower().lstrip(".")


def _subtitle_formats(value: Any) -> tuple[str, ...]:
    """``subtitles``: the subtitle formats written beside the SRT (``"srt"`` is no extra)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InputError(f'must be a list of subtitle formats, e.g. ["vtt"], not {value!r}')
    chosen: list[str] = []
    for given in value:
        extension = given.lower().lstrip(".")
        if extension not in (*SUBTITLE_NAMES, "srt"):
            known = ", ".join(SUBTITLE_NAMES)
            raise InputError(
                f"unknown subtitle format {given!r} (use {known}; SRT is always written)"
            )
        if extension != "srt" and extension not in chosen:
            chosen.append(extension)
    return tuple(chosen)


def _timeline(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"must be true or false, not {value!r}")
    return value


_CONVERTERS: dict[str, Callable[[Any], Any]] = {"size": _cache_size, "fills": _fills}
_OUTPUT_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "format": _output_format,
    "subtitles": _subtitle_formats,
    "timeline": _timeline,
}


def _checked_choice(name: str, value: Any) -> Any:
    """A command-line output choice checked and converted like a manifest's; other settings
    as they are (the command line has checked them)."""
    if name not in OUTPUT_CHOICES:
        return value
    return _converted(_OUTPUT_CONVERTERS[name], value, f"--{name}")


def _entry(script: Path, chosen: Mapping[str, Any], out: Path, where: str) -> Entry:
    """The entry of ``script`` with the options ``chosen`` for it, delivery settings checked."""
    values = dict(chosen)
    audio_format = values.pop("format", DEFAULT_FORMAT)
    subtitles = values.pop("subtitles", ())
    timeline = values.pop("timeline", False)
    options = pipeline.options_of(values)
    stem = out / script.stem
    outputs = pipeline.Outputs(
        Path(f"{stem}.{audio_format}"),
        (Path(f"{stem}.srt"), *(Path(f"{stem}.{extension}") for extension in subtitles)),
        Path(f"{stem}.json") if timeline else None,
    )
    _check_delivery(options, outputs.audio, where)
    return Entry(script, options, outputs)


def _check_delivery(options: pipeline.RenderOptions, audio: Path, where: str) -> None:
    """The delivery settings (sample rate, bit depth, bitrate, loudness) fit the format: the
    mastering a render would resolve for ``audio`` (:func:`voicer.pipeline.sound_mastering`)."""
    try:
        pipeline.sound_mastering(audio, options)
    except InputError as error:
        raise error.within(where) from None


def _check_distinct_outputs(made: Sequence[Entry]) -> None:
    """No two scripts write the same files (their stems differ, even in case), and none
    writes where the batch report goes."""
    stems: dict[str, Entry] = {}
    for entry in made:
        stem = entry.script.stem.casefold()
        if stem in stems:
            first = stems[stem].script
            raise InputError(
                f"{first} and {entry.script}: their outputs would have the same name "
                f"({entry.outputs.subtitles[0]}); rename one"
            )
        stems[stem] = entry
        for path in entry.outputs.all():
            if path.name in report.REPORT_NAMES:
                raise InputError(
                    f"{entry.script}: its output {path} is where the batch report goes; "
                    "rename the script"
                )


def _check_inputs_kept(made: Sequence[Entry], out: Path, source: Path) -> None:
    """Nothing the batch writes (outputs, stamps, the report) would replace a file it reads
    (a script, the manifest, a lexicon, ...), by its name or through a link."""
    read: dict[Path, Path] = {}
    manifest = [source] if source.is_file() else []
    for path in [*manifest, *(path for entry in made for path in entry.inputs())]:
        read.update(dict.fromkeys(_places(path), path))
    reports = [out / name for name in report.REPORT_NAMES]
    for written in [*(path for entry in made for path in entry.written()), *reports]:
        clash = next((read[place] for place in _places(written) if place in read), None)
        if clash is not None:
            raise InputError(
                f"{clash}: read by the batch, yet its output {written} would replace it; "
                "write the outputs to another folder (-o)"
            )


def _check_stamps_folder(out: Path) -> None:
    """``OUT/.voicer-batch`` is the batch's own folder, never a link: the stamps would be
    written wherever a link planted there leads (``-> ~/.config``)."""
    stamps = out / STAMPS
    if stamps.is_symlink():
        raise InputError(
            f"{stamps}: is a link, where a batch keeps its own records; remove it "
            "(the batch makes the folder)"
        )


def _places(path: Path) -> set[Path]:
    """Where ``path`` is: its own name in its real folder, and the file a link leads to."""
    return {path.parent.resolve() / path.name, path.resolve()}
