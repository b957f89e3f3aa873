"""Drafts end to end (issue 6): placeholders, fills, markup pauses, voices, rates, comments and
the lexicon, each through the real ``voicer render`` command, run in this process (click's test
runner: the same exit codes and stderr, no interpreter start per render); a draft stopped for
its placeholders and Ctrl-C during a kokoro render run ``python -m voicer`` as a user would.
What the engine hears is read off the loopback edge service's requests, pauses are measured on
the decoded audio of the tone engine, and subtitles are parsed with the ``srt`` library.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import srt
from speech_audio import decode, interruptible, invoke_voicer, speech_runs
from test_edge_cli import REPO, error_line, voicer

DEFAULT_VOICE = "zh-CN-YunyangNeural"
TOLERANCE = 0.020  # seconds, for every measured pause


def where(source: str, needle: str) -> str:
    """``LINE:COLUMN`` (1-based) of ``needle`` in ``source``, counted here, not by voicer."""
    offset = source.index(needle)
    line_start = source.rfind("\n", 0, offset) + 1
    line = source.count("\n", 0, offset) + 1
    return f"{line}:{offset - line_start + 1}"


def cues_of(path: Path) -> list[srt.Subtitle]:
    return list(srt.parse(path.read_text(encoding="utf-8")))


def shown_text(path: Path) -> str:
    """Every cue's text run together (zh-netflix turns ， into spaces and breaks lines)."""
    return "".join(cue.content.replace("\n", "").replace(" ", "") for cue in cues_of(path))


def sentences_of(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["sentences"]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def render(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """``voicer render ARGS`` in this process, its output as text."""
    return invoke_voicer("render", *args, cwd=cwd, env=env, text=True)


def render_each(
    runs: list[tuple[str, list[str], dict[str, str]]], folders: list[Path], env: dict[str, str]
) -> list[subprocess.CompletedProcess]:
    """``voicer render s.txt ARGS`` for each (script, args, other files) in its own folder, in
    this process, each with a cache of its own."""

    def one(number: int) -> subprocess.CompletedProcess:
        script, args, others = runs[number]
        folder = folders[number]
        for name, content in {"s.txt": script, **others}.items():
            (folder / name).write_text(content, encoding="utf-8")
        cache = {"VOICER_CACHE_DIR": str(folder.with_name(folder.name + "-cache"))}
        return render("s.txt", *args, cwd=folder, env={**env, **cache})

    return [one(number) for number in range(len(runs))]


# --- 1. placeholders ----------------------------------------------------------------------------

DRAFT = (
    "同志们：\n"
    "今年以来，*市经济运行稳中有进，地区生产总值增长*%，居全省第*位。\n"
    "XX区实现进出口总额1,234亿元，比上年增长12.5%。\n"
    "全市新增就业××万人，城镇登记失业率控制在3.5%以内。\n"
    "2024年，我们将重点推进【待定】项目建设。\n"
    "固定资产投资完成2000-3000亿元，增速居全省第*位。\n"
    "谢谢大家！\n"
)
# every placeholder, in order, as (text, the text right after it to find it by)
PLACEHOLDERS = [
    ("*", "*市"),
    ("*", "*%"),
    ("*", "*位。\nXX"),
    ("XX", "XX区"),
    ("××", "××万人"),
    ("【待定】", "【待定】"),
    ("*", "*位。\n谢谢"),
]
PLACEHOLDER_MARKS = ("*", "＊", "X", "×", "【", "】", "待定")
FILL_FILE = 'XX = "东湖"\n"××" = "8.6"\n"【待定】" = "轨道交通"\n'
FILLED_SPOKEN = [
    "今年以来，江城市经济运行稳中有进",
    "增长百分之六点一，居全省第三位",
    "东湖区实现进出口总额一千二百三十四亿元",
    "新增就业八点六万人",
    "二零二四年，我们将重点推进轨道交通项目建设",
    "两千到三千亿元，增速居全省第五位",
]
FILLED_SHOWN = ["江城市", "增长6.1%", "居全省第3位", "东湖区", "8.6万人", "轨道交通项目", "第5位"]


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    (tmp_path / "draft.txt").write_text(DRAFT, encoding="utf-8")
    return tmp_path


@pytest.mark.slow
def test_a_draft_with_placeholders_stops_before_synthesis_with_one_line(edge_server, draft):
    args = ["--engine", "edge", "-o", "out.wav", "--timeline", "t.json"]
    # a real process: its exit code and its one line of stderr
    result = voicer("render", "draft.txt", *args, cwd=draft)
    assert result.returncode == 2
    line = error_line(result)
    assert line.startswith(f"voicer: error: {len(PLACEHOLDERS)} unfilled placeholders: ")
    named = [f"{where(DRAFT, after)} {text} in “" for text, after in PLACEHOLDERS]
    at = [line.index(name) for name in named[:5]]  # the first five, in order
    assert at == sorted(at)
    for name in named[5:]:
        assert name not in line
    assert " and 2 more; " in line
    assert "--fill" in line and "--allow-placeholders" in line
    assert edge_server.requests == []
    assert files_in(draft) == ["draft.txt"]


@pytest.mark.slow
def test_filled_by_order_by_position_and_from_a_file_nothing_of_a_placeholder_is_left(
    edge_server, draft
):
    (draft / "fills.toml").write_text(FILL_FILE, encoding="utf-8")
    last = where(DRAFT, "*位。\n谢谢")
    fills = ["--fill", f"{last}=5", "--fill", "*=江城", "--fill", "*=6.1", "--fill", "*=3"]
    args = [
        "--engine",
        "edge",
        "-o",
        "out.wav",
        "--timeline",
        "t.json",
        "--fill-file",
        "fills.toml",
    ]
    result = render("draft.txt", *args, *fills, cwd=draft)
    assert result.returncode == 0, result.stderr

    heard = [request.text for request in edge_server.requests]
    assert len(heard) == DRAFT.count("\n")  # one request per sentence, each line one sentence
    for text in heard:
        assert not any(mark in text for mark in PLACEHOLDER_MARKS), text
    for spoken in FILLED_SPOKEN:
        assert any(spoken in text for text in heard), spoken

    shown = shown_text(draft / "out.srt")
    assert not any(mark in shown for mark in PLACEHOLDER_MARKS), shown
    for written in FILLED_SHOWN:
        assert written in shown, written

    sentences = sentences_of(draft / "t.json")
    for sentence in sentences:
        texts = [sentence["text"], sentence["spoken"], *(cue["text"] for cue in sentence["cues"])]
        assert not any(mark in t for t in texts for mark in PLACEHOLDER_MARKS), sentence
    assert sorted(s["spoken"] for s in sentences) == sorted(heard)


@pytest.mark.slow
def test_allowed_placeholders_are_shown_but_never_spoken(edge_server, draft):
    args = ["--engine", "edge", "-o", "out.wav", "--allow-placeholders"]
    result = render("draft.txt", *args, cwd=draft)
    assert result.returncode == 0, result.stderr
    shown = shown_text(draft / "out.srt")
    for written in ("*市", "增长*%", "居全省第*位", "XX区", "××万人", "【待定】项目"):
        assert written in shown, written
    heard = [request.text for request in edge_server.requests]
    assert len(heard) == DRAFT.count("\n")
    for text in heard:
        assert not any(mark in text for mark in PLACEHOLDER_MARKS), text
    # what is around a placeholder is still spoken
    for spoken in ("市经济运行稳中有进", "区实现进出口总额", "推进项目建设"):
        assert any(spoken in text for text in heard), spoken


# --- 2. markup pauses, measured on the audio ------------------------------------------------------

PAUSED = (
    "[pause 1s]\n"
    "第一句话很短。第二句话也短。[pause 1.5s]第三句话在这里。\n"
    "[pause 2s]\n"
    "第二段开始了，[pause 800ms]这里继续说。第二段结束。\n"
    "第三段只有一句。\n"
)
PAUSED_SENTENCES = [
    "第一句话很短。",
    "第二句话也短。",
    "第三句话在这里。",
    "第二段开始了，",  # [pause 800ms] splits the sentence here
    "这里继续说。",
    "第二段结束。",
    "第三段只有一句。",
]
# the silence after each sentence but the last: sentence, [pause 1.5s], [pause 2s] (between
# paragraphs), [pause 800ms] (inside a sentence), sentence, paragraph
PAUSES = [0.400, 1.500, 2.000, 0.800, 0.400, 0.900]


def test_markup_pauses_are_exact_in_the_audio_and_the_others_keep_their_length(tmp_path):
    (tmp_path / "paused.txt").write_text(PAUSED, encoding="utf-8")
    args = ["--engine", "tone", "-o", "out.wav", "--timeline", "t.json"]
    pauses = ["--sentence-pause", "400", "--paragraph-pause", "900"]
    result = render("paused.txt", *args, *pauses, cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    sentences = sentences_of(tmp_path / "t.json")
    assert [s["text"] for s in sentences] == PAUSED_SENTENCES
    assert [cue.content for cue in cues_of(tmp_path / "out.srt")] == [
        s.rstrip("。，") for s in PAUSED_SENTENCES
    ]
    # a gap of 200 ms or more only between sentences (words are 80 ms apart)
    runs = speech_runs(decode(tmp_path / "out.wav"), min_silence=0.2)
    assert len(runs) == len(sentences), runs
    for (start, end), sentence in zip(runs, sentences, strict=True):
        assert abs(start - sentence["start"]) < TOLERANCE, (sentence["text"], start)
        assert abs(end - sentence["end"]) < TOLERANCE, (sentence["text"], end)
    measured = [later[0] - earlier[1] for earlier, later in zip(runs, runs[1:], strict=False)]
    assert measured == pytest.approx(PAUSES, abs=TOLERANCE)
    planned = [b["start"] - a["end"] for a, b in zip(sentences, sentences[1:], strict=False)]
    assert planned == pytest.approx(PAUSES, abs=0.001)
    # [pause 1s] at the very start comes on top of the 30 ms lead-in
    assert runs[0][0] == pytest.approx(1.030, abs=TOLERANCE)


# --- 3. voices and rates --------------------------------------------------------------------------

VOICED = (
    "各位代表，大家上午好。今天召开全市工作会议。\n"
    "[voice zh-CN-XiaoxiaoNeural]\n"
    "第二段由另一位播音员朗读。这是第二段的第二句。\n"
    "[rate +20%]第三段语速加快。还是同一位播音员。\n"
    "[voice default] [rate default]\n"
    "第四段回到默认声音。谢谢大家。\n"
)
VOICED_REQUESTS = {
    "各位代表，大家上午好。": (DEFAULT_VOICE, "+0%"),
    "今天召开全市工作会议。": (DEFAULT_VOICE, "+0%"),
    "第二段由另一位播音员朗读。": ("zh-CN-XiaoxiaoNeural", "+0%"),
    "这是第二段的第二句。": ("zh-CN-XiaoxiaoNeural", "+0%"),
    "第三段语速加快。": ("zh-CN-XiaoxiaoNeural", "+20%"),
    "还是同一位播音员。": ("zh-CN-XiaoxiaoNeural", "+20%"),
    "第四段回到默认声音。": (DEFAULT_VOICE, "+0%"),
    "谢谢大家。": (DEFAULT_VOICE, "+0%"),
}


@pytest.mark.slow
def test_each_paragraph_is_spoken_in_the_voice_and_rate_its_markup_sets(edge_server, tmp_path):
    (tmp_path / "voiced.txt").write_text(VOICED, encoding="utf-8")
    result = render("voiced.txt", "--engine", "edge", "-o", "out.wav", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    asked = {r.text: (r.voice, r.rate) for r in edge_server.requests}
    assert len(edge_server.requests) == len(VOICED_REQUESTS)
    assert asked == VOICED_REQUESTS
    assert [cue.content for cue in cues_of(tmp_path / "out.srt")] == [
        text.rstrip("。").replace("，", " ") for text in VOICED_REQUESTS
    ]


def test_a_kokoro_voice_in_markup_with_the_edge_engine_is_one_line_and_exit_2(
    edge_server, tmp_path
):
    (tmp_path / "s.txt").write_text("大家好。\n[voice zf_xiaoxiao]\n今天开会。\n", encoding="utf-8")
    result = render("s.txt", "--engine", "edge", "-o", "out.wav", cwd=tmp_path)
    assert result.returncode == 2
    line = error_line(result)
    assert line.startswith("voicer: error: ")
    assert "zf_xiaoxiao is a voice of the offline kokoro engine, not of edge" in line
    assert edge_server.requests == []
    assert files_in(tmp_path) == ["s.txt"]


@pytest.mark.slow
def test_an_edge_voice_in_markup_is_mapped_for_kokoro_with_a_notice(tmp_path):
    """Kokoro takes ~20 s for even two short sentences, so this stops the render (Ctrl-C) once
    it says which voices it will use, before synthesis; nothing may be written."""
    (tmp_path / "s.txt").write_text(
        "今天天气很好，我们一起开会。\n[voice zh-CN-XiaoxiaoNeural]\n谢谢。\n", encoding="utf-8"
    )
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "voicer", "render", "s.txt", "--engine", "kokoro"]
    with subprocess.Popen(
        [*command, "-o", "out.wav", "--no-cache"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
        preexec_fn=interruptible,
    ) as process:
        assert process.stderr is not None
        watchdog = threading.Timer(60, process.kill)  # never hang on a render that says nothing
        watchdog.start()
        said = []
        for line in process.stderr:
            said.append(line.rstrip("\n"))
            if line.startswith("voicer: speaking "):
                break
        process.send_signal(signal.SIGINT)
        said += process.stderr.read().splitlines()
        code = process.wait(timeout=30)
        watchdog.cancel()
    assert "voicer: voice zh-CN-XiaoxiaoNeural is online only; using zf_xiaoxiao" in said, said
    assert any(line.startswith("voicer: speaking 2 sentences with kokoro") for line in said), said
    assert code == 130, said
    assert files_in(tmp_path) == ["s.txt"]


# --- 4. markup errors -----------------------------------------------------------------------------

# (script, the text at the error's position, what the message says)
MARKUP_ERRORS = [
    ("同志们：\n今年以来，全市经济[foo]稳中有进。\n", "[foo]", "unknown markup [foo]"),
    ("大家好。[pause 1s\n谢谢。\n", "[pause 1s", "unclosed ["),
    ("甲乙丙。\n丁戊己。[pause 0s]庚辛。\n", "[pause 0s]", "must be longer than 0"),
    ("　　各位代表：[pause 1.5]大家好。\n", "[pause 1.5]", "bad pause length"),
    ("甲。\n\n[# 注释]乙[bar]丙。\n", "[bar]", "unknown markup [bar]"),
]


@pytest.fixture(scope="module")
def markup_error_runs(_edge_server_running, tmp_path_factory):
    """Every script of MARKUP_ERRORS rendered with the edge engine: the results, their folders,
    and the requests the service received meanwhile."""
    server = _edge_server_running
    server.reset()
    args = ["--engine", "edge", "-o", "out.wav", "--timeline", "t.json"]
    runs = [(script, args, {}) for script, _, _ in MARKUP_ERRORS]
    folders = [tmp_path_factory.mktemp("markup-error") for _ in runs]
    results = render_each(runs, folders, {"VOICER_EDGE_URL": server.url})
    requests = server.requests
    server.reset()
    return results, folders, requests


@pytest.mark.parametrize("number", range(len(MARKUP_ERRORS)))
def test_malformed_markup_is_one_line_at_its_position_before_synthesis(markup_error_runs, number):
    source, at, says = MARKUP_ERRORS[number]
    results, folders, requests = markup_error_runs
    assert results[number].returncode == 2, results[number].stderr
    line = error_line(results[number])
    assert line.startswith(f"voicer: error: {where(source, at)}: "), line
    assert says in line
    assert files_in(folders[number]) == ["s.txt"]
    assert requests == []


# --- 5. comments ----------------------------------------------------------------------------------

COMMENTED = (
    "[# 说明：本稿供内部审阅，XX处数据待补]\n"
    "尊敬的各位来宾，[# 此处停顿鼓掌]大家上午好！\n"
    "今天我们召开会议。[# 领导讲话要点]请大家认真听。[# 完]\n"
    "[# 结束语]\n"
    "谢谢大家。\n"
)
COMMENTED_SPOKEN = [
    "尊敬的各位来宾，大家上午好！",
    "今天我们召开会议。",
    "请大家认真听。",
    "谢谢大家。",
]
COMMENT_WORDS = ("说明", "审阅", "XX", "鼓掌", "要点", "完", "结束语", "#", "[", "]")


def test_comments_are_neither_spoken_nor_subtitled(edge_server, tmp_path):
    (tmp_path / "s.txt").write_text(COMMENTED, encoding="utf-8")
    result = render("s.txt", "--engine", "edge", "-o", "out.wav", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(r.text for r in edge_server.requests) == sorted(COMMENTED_SPOKEN)
    cues = [cue.content for cue in cues_of(tmp_path / "out.srt")]
    assert cues == ["尊敬的各位来宾 大家上午好！", "今天我们召开会议", "请大家认真听", "谢谢大家"]
    assert not any(word in cue for cue in cues for word in COMMENT_WORDS)


# --- 6. lexicon and numbers -----------------------------------------------------------------------


def test_the_timeline_shows_the_lexicon_and_numbers_spoken_and_the_author_text(tmp_path):
    (tmp_path / "s.txt").write_text("张珺同志指出，2024年全市GDP增长5.2%。\n", encoding="utf-8")
    (tmp_path / "names.tsv").write_text("# 人名\n张珺\t张军\n", encoding="utf-8")
    args = ["--engine", "tone", "-o", "out.wav", "--timeline", "t.json", "--lexicon", "names.tsv"]
    result = render("s.txt", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [sentence] = sentences_of(tmp_path / "t.json")
    assert sentence["text"] == "张珺同志指出，2024年全市GDP增长5.2%。"
    assert sentence["spoken"] == "张军同志指出，二零二四年全市GDP增长百分之五点二。"
    assert shown_text(tmp_path / "out.srt") == "张珺同志指出2024年全市GDP增长5.2%"


# --- edge cases found in review, rendered together ---------------------------------------------

KNOWN_BUGS = {
    "markup_language": (
        "大家好。\n[voice zh-CN-XiaoxiaoNeural]\n谢谢。\n",
        ["--engine", "edge", "-o", "out.wav"],
        {},
    ),
    "comment_fill": (
        "[# 两处*待填]\n*市增长*%。\n",
        ["--engine", "tone", "-o", "out.wav", "--fill", "*=江城", "--fill", "*=5.2"],
        {},
    ),
    "left_out_pauses": (
        "甲乙丙。【待定】。[pause 2s]丁戊己。【待定】\n庚辛壬。\n",
        ["--engine", "tone", "-o", "out.wav", "--timeline", "t.json", "--allow-placeholders"],
        {},
    ),
    "lexicon_across_cues": (
        "我们在这次非常重要的朝阳区人民政府全体会议上要认真学习和贯彻落实关于推进全市经济"
        "高质量发展的重要讲话精神和工作部署要求还要继续努力工作。\n",
        ["--engine", "tone", "-o", "out.wav", "--timeline", "t.json", "--lexicon", "names.tsv"],
        {"names.tsv": "朝阳区人民政府\t潮阳区人民政府\n"},
    ),
}


@pytest.fixture(scope="module")
def known_bug_runs(_edge_server_running, tmp_path_factory):
    """KNOWN_BUGS rendered: by name, (result, folder); and the edge requests."""
    server = _edge_server_running
    server.reset()
    folders = [tmp_path_factory.mktemp(name) for name in KNOWN_BUGS]
    results = render_each(list(KNOWN_BUGS.values()), folders, {"VOICER_EDGE_URL": server.url})
    requests = server.requests
    server.reset()
    return dict(zip(KNOWN_BUGS, zip(results, folders, strict=True), strict=True)), requests


def test_markup_does_not_make_a_short_mandarin_script_english(known_bug_runs):
    (result, _), requests = known_bug_runs[0]["markup_language"], known_bug_runs[1]
    assert result.returncode == 0, result.stderr
    asked = {r.text: r.voice for r in requests}
    assert asked == {"大家好。": DEFAULT_VOICE, "谢谢。": "zh-CN-XiaoxiaoNeural"}


def test_a_placeholder_in_a_comment_takes_no_fill(known_bug_runs):
    result, folder = known_bug_runs[0]["comment_fill"]
    assert result.returncode == 0, result.stderr
    assert shown_text(folder / "out.srt") == "江城市增长5.2%"


def test_a_left_out_placeholder_sentence_keeps_its_pause(known_bug_runs):
    result, folder = known_bug_runs[0]["left_out_pauses"]
    assert result.returncode == 0, result.stderr
    sentences = sentences_of(folder / "t.json")
    assert [s["text"] for s in sentences] == ["甲乙丙。", "丁戊己。", "庚辛壬。"]
    gaps = [b["start"] - a["end"] for a, b in zip(sentences, sentences[1:], strict=False)]
    assert gaps == pytest.approx([2.0, 0.9], abs=0.001)  # [pause 2s]; the paragraph pause


def test_a_lexicon_entry_split_across_cues_is_still_replaced(known_bug_runs):
    result, folder = known_bug_runs[0]["lexicon_across_cues"]
    assert result.returncode == 0, result.stderr
    [sentence] = sentences_of(folder / "t.json")
    assert len(sentence["cues"]) > 1
    assert "潮阳区人民政府" in sentence["spoken"]
