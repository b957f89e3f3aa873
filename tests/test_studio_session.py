"""The studio's session: a re-take speaks one sentence again and changes nothing else, every
edit is in the script file at once (with a backup), undo brings a sentence back, and an
export is byte for byte what ``voicer render`` writes from the edited file."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech_audio import run_voicer

from voicer import pipeline
from voicer.errors import InputError
from voicer.studio import views
from voicer.studio.session import Studio
from voicer.studio.views import StateView

SCRIPT = """科技创新大会

同志们：今天我们召开全市科技创新大会。首先，我代表市委向大家致以问候！

一、主要成绩

过去一年，全市研发投入增长12.5%，高新技术企业达到1280家。
"""
EDITED = "首先，我代表市委向奋战在科研一线的同志们致以诚挚的问候！"


@pytest.fixture
def studio(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    outputs = pipeline.Outputs.beside(tmp_path / "out" / "talk.mp3", vtt=True)
    session = Studio(tmp_path / "talk.txt", pipeline.RenderOptions(engine="tone"), outputs)
    yield session
    session.close()


def hashes(state: StateView) -> list[str | None]:
    return [sentence["hash"] for sentence in state["sentences"]]


@pytest.mark.slow
def test_a_retake_changes_that_sentence_alone_and_saves_the_file(studio: Studio, tmp_path: Path):
    before = studio.state()
    after = studio.retake(2, EDITED)
    changed = [a != b for a, b in zip(hashes(before), hashes(after), strict=True)]
    assert changed == [False, False, True, False, False]
    assert after["sentences"][2]["shown"] == EDITED and after["sentences"][2]["undo"]
    assert after["version"] == before["version"] + 1
    text = (tmp_path / "talk.txt").read_text(encoding="utf-8")
    assert text == SCRIPT.replace("首先，我代表市委向大家致以问候！", EDITED)
    assert (tmp_path / "talk.txt.bak").read_text(encoding="utf-8") == SCRIPT
    # the cues follow: the edited sentence's cues hold its new words
    shown = "".join("".join(cue["lines"]) for cue in after["sentences"][2]["cues"])
    assert "奋战" in shown


def test_undo_brings_back_the_text_and_the_clip(studio: Studio, tmp_path: Path):
    before = studio.state()
    studio.retake(2, EDITED)
    undone = studio.undo(2)
    assert hashes(undone) == hashes(before)
    assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SCRIPT
    with pytest.raises(InputError, match="no edit to undo"):
        studio.undo(2)


@pytest.mark.slow
def test_an_export_is_what_render_writes_from_the_edited_file(studio: Studio, tmp_path: Path):
    studio.retake(4, "过去一年，全市研发投入增长百分之十二点五。")
    written = studio.export()["written"]
    assert [Path(path).name for path in written] == ["talk.mp3", "talk.srt", "talk.vtt"]
    rendered = run_voicer(
        "render", "talk.txt", "--engine", "tone", "--vtt", "-o", "again/talk.mp3", cwd=tmp_path
    )
    assert rendered.returncode == 0, rendered.stderr.decode()
    for name in ("talk.mp3", "talk.srt", "talk.vtt"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


def test_the_preview_and_captions_match_the_state(studio: Studio):
    import io
    import wave

    state = studio.state()
    assert views.STATE.validate_python(state, strict=True) == state  # each value of its type
    with wave.open(io.BytesIO(studio.preview_wav())) as preview:
        assert preview.getnchannels() == 1
        seconds = preview.getnframes() / preview.getframerate()
    assert seconds == pytest.approx(state["duration"], abs=1e-3)
    vtt = studio.captions_vtt()
    cues = sum(len(sentence["cues"]) for sentence in state["sentences"])
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == cues


@pytest.mark.parametrize("text", ["", "  ", "两行\n文字"])
def test_a_bad_edit_is_refused_and_nothing_changes(studio: Studio, tmp_path: Path, text: str):
    before = studio.state()
    with pytest.raises(InputError):
        studio.retake(1, text)
    assert studio.state() == before
    assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SCRIPT


def test_a_sentence_with_a_placeholder_is_edited_in_the_file(tmp_path: Path):
    (tmp_path / "talk.txt").write_text("今天在*市开会。大家好。\n", encoding="utf-8")
    options = pipeline.RenderOptions(engine="tone", fills={"*": ["上海"]})
    outputs = pipeline.Outputs.beside(tmp_path / "talk.mp3")
    session = Studio(tmp_path / "talk.txt", options, outputs)
    try:
        with pytest.raises(InputError, match="line 1: this sentence is not written"):
            session.retake(0, "今天在北京开会。")
        assert session.retake(1, "同志们好。")["sentences"][1]["shown"] == "同志们好。"
    finally:
        session.close()


def test_a_voice_rate_and_pause_of_one_sentence_go_into_the_script(studio: Studio, tmp_path: Path):
    before = studio.state()
    assert [v["name"] for v in before["voices"]] == ["tone", "tone-low"]
    after = studio.retake(2, settings={"voice": "tone-low", "rate": 20, "pause": 1500})
    changed = [a != b for a, b in zip(hashes(before), hashes(after), strict=True)]
    assert changed == [False, False, True, False, False]
    third, fourth = after["sentences"][2], after["sentences"][3]
    assert (third["voice"], third["rate"], third["pause"]) == ("tone-low", 20, 1500)
    assert third["voice_set"] and third["rate_set"] and third["pause_set"]
    assert fourth["voice"] == "tone" and fourth["rate"] == 0  # the next sentence as it was
    assert fourth["start"] - third["end"] == pytest.approx(1.5, abs=0.01)
    text = (tmp_path / "talk.txt").read_text(encoding="utf-8")
    assert (
        "[voice tone-low][rate +20%]首先，我代表市委向大家致以问候！[pause 1500ms]" in text
        and "[rate default][voice default]一、主要成绩" in text
    )
    # a setting dropped goes back to the script's; undo brings back what was there
    dropped = studio.retake(2, settings={"voice": None})
    assert dropped["sentences"][2]["voice"] == "tone" and not dropped["sentences"][2]["voice_set"]
    studio.undo(2)
    assert studio.state()["sentences"][2]["voice"] == "tone-low"
    studio.undo(2)
    assert hashes(studio.state()) == hashes(before)


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"voice": "zh-CN-NoSuchNeural"}, "voice: the tone engine has no such voice"),
        ({"voice": "tone]注入文字[#"}, "voice: the tone engine has no such voice"),
        ({"rate": 300}, r"rate: from -50 to \+100"),
        ({"pause": 0}, "pause: from 1 to 60000 ms"),
        ({"tempo": 3}, "unknown setting tempo"),
    ],
)
def test_a_bad_setting_is_refused_and_nothing_changes(studio, tmp_path, settings, says):
    before = studio.state()
    with pytest.raises(InputError, match=says):
        studio.retake(1, settings=settings)
    assert studio.state() == before
    assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SCRIPT


def test_a_reading_becomes_a_lexicon_entry(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    lexicon = tmp_path / "names.tsv"  # not there yet: the first reading writes it
    options = pipeline.RenderOptions(engine="tone", lexicon=lexicon)
    session = Studio(tmp_path / "talk.txt", options, pipeline.Outputs.beside(tmp_path / "t.mp3"))
    try:
        before = session.state()
        assert before["lexicon"] == str(lexicon)
        after = session.set_reading(1, "全市", "全城市")
        assert lexicon.read_text(encoding="utf-8") == "全市\t全城市\n"
        spoken = [sentence["spoken"] for sentence in after["sentences"]]
        assert "全城市" in spoken[1] and "全城市" in spoken[4]  # every sentence that holds it
        assert after["sentences"][1]["readings"] == [{"written": "全市", "spoken": "全城市"}]
        with pytest.raises(InputError, match="does not contain “重庆”"):
            session.set_reading(1, "重庆", "崇庆")
        session.undo(1)
        assert lexicon.read_text(encoding="utf-8") == ""
        assert hashes(session.state()) == hashes(before)
    finally:
        session.close()


def test_readings_need_a_tsv_lexicon(studio: Studio):
    with pytest.raises(InputError, match="start the studio with --lexicon FILE"):
        studio.set_reading(1, "全市", "全城市")


def test_a_draft_is_spoken_ahead_and_the_retake_uses_it(studio: Studio):
    studio.draft(2, EDITED)
    studio._drafting.submit(lambda: None).result()  # the draft is done
    made = studio.speaker.misses
    studio.retake(2, EDITED)
    assert studio.speaker.misses == made  # nothing more spoken: the draft's clip was used


@pytest.mark.slow
def test_an_export_with_every_kind_of_change_is_what_render_writes(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    lexicon = tmp_path / "names.tsv"
    options = pipeline.RenderOptions(engine="tone", lexicon=lexicon)
    outputs = pipeline.Outputs.beside(tmp_path / "out" / "talk.wav")
    session = Studio(tmp_path / "talk.txt", options, outputs)
    try:
        session.retake(1, "同志们：今天我们召开全市科技大会。", {"rate": -10})
        session.retake(3, settings={"voice": "tone-low", "pause": 2000})
        session.set_reading(4, "研发", "研究开发")
        done = session.export()
    finally:
        session.close()
    assert done["report"][-1].startswith("0:")
    assert any(line.startswith("wrote ") for line in done["report"])
    rendered = run_voicer(
        "render", "talk.txt", "--engine", "tone", "--lexicon", "names.tsv",
        "-o", "again/talk.wav", cwd=tmp_path,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr.decode()
    for name in ("talk.wav", "talk.srt"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


@pytest.mark.slow
def test_a_video_export_is_what_render_writes_and_reports_progress(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    options = pipeline.RenderOptions(engine="tone")
    outputs = pipeline.Outputs.beside(tmp_path / "out" / "talk.mp4")
    session = Studio(tmp_path / "talk.txt", options, outputs)
    heard: list[tuple[float, str]] = []
    try:
        session.retake(1, settings={"pause": 1000})
        done = session.export(lambda share, words: heard.append((share, words)))
    finally:
        session.close()
    assert [Path(path).name for path in done["written"]] == ["talk.mp4", "talk.srt"]
    assert heard[0][0] == 0.0 and heard[-1][0] == pytest.approx(1.0)
    assert all(words.startswith("mastering and encoding") for _, words in heard)
    rendered = run_voicer(
        "render", "talk.txt", "--engine", "tone", "-o", "again/talk.mp4", cwd=tmp_path
    )
    assert rendered.returncode == 0, rendered.stderr.decode()
    for name in ("talk.mp4", "talk.srt"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


@pytest.mark.slow
def test_an_engine_failure_leaves_the_script_and_programme_as_they_were(edge_server, tmp_path):
    from voicer.errors import SynthesisError

    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    options = pipeline.RenderOptions(engine="edge", retries=0)
    session = Studio(tmp_path / "talk.txt", options, pipeline.Outputs.beside(tmp_path / "t.mp3"))
    try:
        before = session.state()
        edge_server.set_mode("http403")
        with pytest.raises(SynthesisError, match="line 3"):
            session.retake(2, EDITED)
        assert session.state() == before
        assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SCRIPT
        edge_server.set_mode("normal")
        assert session.retake(2, EDITED)["sentences"][2]["shown"] == EDITED
    finally:
        session.close()


def test_a_planted_backup_link_is_replaced_not_written_through(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    targets = [elsewhere / "script", elsewhere / "lexicon"]
    for target in targets:
        target.write_text("not the studio's to write\n", encoding="utf-8")
    (tmp_path / "talk.txt.bak").symlink_to(targets[0])
    lexicon = tmp_path / "names.tsv"
    lexicon.write_text("AI\tA I\n", encoding="utf-8")
    (tmp_path / "names.tsv.bak").symlink_to(targets[1])
    options = pipeline.RenderOptions(engine="tone", lexicon=lexicon)
    session = Studio(tmp_path / "talk.txt", options, pipeline.Outputs.beside(tmp_path / "t.mp3"))
    try:
        session.retake(2, EDITED)
        session.set_reading(1, "全市", "全城市")
    finally:
        session.close()
    assert [t.read_text(encoding="utf-8") for t in targets] == ["not the studio's to write\n"] * 2
    for backup, earlier in (("talk.txt.bak", SCRIPT), ("names.tsv.bak", "AI\tA I\n")):
        assert not (tmp_path / backup).is_symlink()
        assert (tmp_path / backup).read_text(encoding="utf-8") == earlier


# --- undo is kept by what a change wrote, not by sentence number ---------------------------------


def talk(tmp_path: Path) -> str:
    return (tmp_path / "talk.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text", ["[# note]", "[pause 1s]", "[# a][pause 1s]", "😀", "🎉🎉！", "。"]
)
def test_a_text_with_nothing_to_say_is_refused(studio: Studio, tmp_path: Path, text: str):
    """Markup alone, or nothing speakable, once made the sentence vanish: its undo then wrote
    over the sentence after it."""
    before = studio.state()
    with pytest.raises(InputError, match="line 3: the new text (holds markup|has nothing)"):
        studio.retake(1, text)
    assert studio.state() == before
    assert talk(tmp_path) == SCRIPT


def test_a_retake_into_several_sentences_is_undone_whole(studio: Studio, tmp_path: Path):
    before = studio.state()
    after = studio.retake(1, "甲。乙。丙。")
    assert [s["shown"] for s in after["sentences"][1:4]] == ["甲。", "乙。", "丙。"]
    assert all(s["undo"] for s in after["sentences"][1:4]) and not after["sentences"][4]["undo"]
    undone = studio.undo(3)  # any sentence the re-take wrote takes it back
    assert talk(tmp_path) == SCRIPT
    assert hashes(undone) == hashes(before)
    with pytest.raises(InputError, match="no edit to undo"):
        studio.undo(1)


def test_undo_finds_its_change_after_the_sentences_were_renumbered(studio: Studio, tmp_path: Path):
    studio.retake(2, EDITED)
    studio.retake(1, "甲。乙。")  # sentence 3 (EDITED) is sentence 4 from now on
    assert studio.state()["sentences"][3]["shown"] == EDITED
    studio.undo(3)
    assert talk(tmp_path) == SCRIPT.replace("同志们：今天我们召开全市科技创新大会。", "甲。乙。")
    studio.undo(1)
    assert talk(tmp_path) == SCRIPT


def test_each_undo_takes_back_one_change_newest_first(studio: Studio, tmp_path: Path):
    studio.retake(2, EDITED)
    studio.retake(2, settings={"voice": "tone-low", "pause": 900})
    studio.retake(2, "同志们好。")
    seen = [talk(tmp_path)]
    for _ in range(3):
        studio.undo(2)
        seen.append(talk(tmp_path))
    assert seen[-1] == SCRIPT
    assert EDITED in seen[2] and "[voice tone-low]" in seen[1] and "同志们好。" in seen[0]
    assert len(set(seen)) == 4


def test_a_change_the_file_no_longer_holds_is_not_undone(studio: Studio, tmp_path: Path):
    studio.retake(2, EDITED)
    by_hand = talk(tmp_path).replace("奋战", "工作")  # the author edits the file meanwhile
    (tmp_path / "talk.txt").write_text(by_hand, encoding="utf-8")
    with pytest.raises(InputError, match="talk.txt changed outside the studio"):
        studio.undo(2)
    assert not studio.state()["sentences"][2]["undo"]
    with pytest.raises(InputError, match="sentence 3 has no edit to undo"):
        studio.undo(2)  # the author wrote over it
    assert talk(tmp_path) == by_hand


# --- whatever the studio saves, it can edit and undo again -------------------------------------


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("首先，\t我们开会。", "首先， 我们开会。"),
        ("首先，\xa0我们开会。", "首先， 我们开会。"),
        ("首先，\u3000我们开会。", "首先， 我们开会。"),
        ("首先，\u200b我们开会。", "首先，我们开会。"),
        ("\ufeff首先，我们开会。", "首先，我们开会。"),
        ("首先[[注]，我们开会。", "首先[注]，我们开会。"),
        ("[[[[首先，我们开会。", "[[首先，我们开会。"),
        ("[[# 注]首先，我们开会。", "[# 注]首先，我们开会。"),  # a literal [, not a comment
    ],
)
def test_a_saved_text_stays_editable_and_undoable(studio, tmp_path, typed, shown):
    after = studio.retake(2, typed)["sentences"][2]
    assert (after["shown"], after["editable"], after["undo"]) == (shown, True, True)
    again = studio.retake(2, typed + "好。")["sentences"][2]
    assert again["editable"] and again["shown"].startswith(shown)
    studio.undo(2)
    studio.undo(2)
    assert talk(tmp_path) == SCRIPT


@pytest.mark.parametrize(
    "character",
    ["\x01", "\x1e", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\x00", "\x7f", "\ud800"],
)
def test_a_control_character_or_line_break_is_refused(studio, tmp_path, character: str):
    before = studio.state()
    with pytest.raises(
        InputError, match=f"line 3: the new text must be one line.*U\\+{ord(character):04X}"
    ):
        studio.retake(2, f"首先{character}我们开会。")
    assert studio.state() == before
    assert talk(tmp_path) == SCRIPT


def test_a_sentence_with_other_spaces_a_bom_or_crlf_in_the_file_is_editable(tmp_path: Path):
    written = "\ufeff开会。首先，\t我们\u3000开会。\r\n散会。\r\n"
    (tmp_path / "talk.txt").write_bytes(written.encode("utf-8"))
    session = Studio(tmp_path / "talk.txt", pipeline.RenderOptions(engine="tone"),
                     pipeline.Outputs.beside(tmp_path / "t.mp3"))  # fmt: skip
    try:
        sentences = session.state()["sentences"]
        assert [(s["shown"], s["editable"]) for s in sentences] == [
            ("开会。", True),
            ("首先， 我们 开会。", True),
            ("散会。", True),
        ]
        session.retake(0, "大会。")
        session.retake(1, "再见。")
        after = session.retake(2, "好。", {"pause": 800})
        assert [s["undo"] for s in after["sentences"]] == [True, True, True]
        assert (tmp_path / "talk.txt").read_bytes().decode() == (
            "\ufeff大会。再见。\r\n好。[pause 800ms]\r\n"
        )
        for index in (2, 0, 1):
            session.undo(index)
        assert (tmp_path / "talk.txt").read_bytes().decode() == written
    finally:
        session.close()


def test_a_linked_script_and_lexicon_are_edited_where_they_live_and_keep_their_mode(
    tmp_path: Path,
):
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    script, lexicon = drafts / "speech.txt", drafts / "names.tsv"
    script.write_text(SCRIPT, encoding="utf-8")
    lexicon.write_text("AI\tA I\n", encoding="utf-8")
    script.chmod(0o644)
    lexicon.chmod(0o640)
    (tmp_path / "talk.txt").symlink_to(script)
    (tmp_path / "names.tsv").symlink_to(lexicon)
    options = pipeline.RenderOptions(engine="tone", lexicon=tmp_path / "names.tsv")
    session = Studio(tmp_path / "talk.txt", options, pipeline.Outputs.beside(tmp_path / "t.mp3"))
    try:
        session.retake(2, EDITED)
        session.set_reading(1, "全市", "全城市")
        assert script.read_text(encoding="utf-8") == SCRIPT.replace(
            "首先，我代表市委向大家致以问候！", EDITED
        )
        assert lexicon.read_text(encoding="utf-8") == "AI\tA I\n全市\t全城市\n"
        assert (tmp_path / "talk.txt").is_symlink() and (tmp_path / "names.tsv").is_symlink()
        assert [p.stat().st_mode & 0o777 for p in (script, lexicon)] == [0o644, 0o640]
        session.undo(1)
        session.undo(2)
    finally:
        session.close()
    assert script.read_text(encoding="utf-8") == SCRIPT
    assert lexicon.read_text(encoding="utf-8") == "AI\tA I\n"
    assert [p.stat().st_mode & 0o777 for p in (script, lexicon)] == [0o644, 0o640]
    assert (tmp_path / "talk.txt.bak").read_text(encoding="utf-8") == SCRIPT


def test_changes_that_overlap_are_undone_in_any_order_the_page_offers(
    studio: Studio, tmp_path: Path
):
    """Settings write markup around a sentence and before the next one, so changes to
    neighbours overlap: a change overlapped by a later one is offered again once that one is
    undone, and undoing whatever the page offers, in any order, ends at the file as it was."""
    studio.retake(2, EDITED)
    studio.retake(1, settings={"voice": "tone-low", "pause": 700})  # [voice default] before 3
    studio.retake(2, settings={"rate": 20})
    studio.retake(3, "一、成绩")
    studio.retake(2, "甲。乙。")
    studio.retake(1, settings={"voice": None})
    offered = [s["index"] for s in studio.state()["sentences"] if s["undo"]]
    assert offered
    for pick in (-1, 0, -1, 0, -1, 0, -1):
        offered = [s["index"] for s in studio.state()["sentences"] if s["undo"]]
        if offered:
            studio.undo(offered[pick])
    assert not [s["index"] for s in studio.state()["sentences"] if s["undo"]]
    assert talk(tmp_path) == SCRIPT


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 6, 11])
def test_a_random_walk_of_edits_and_undos_undoes_back_to_the_script(tmp_path: Path, seed: int):
    """Re-takes, settings, readings and undos on random sentences (a fixed seed): no undo the
    page offers is refused, and undoing all it offers brings back the files as they were."""
    import random

    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    lexicon = tmp_path / "names.tsv"
    options = pipeline.RenderOptions(engine="tone", lexicon=lexicon)
    session = Studio(tmp_path / "talk.txt", options, pipeline.Outputs.beside(tmp_path / "t.mp3"))
    choose = random.Random(seed)
    texts = ["甲。", "甲。乙。", "首先[[注]我们开会。", "好\t的。", "A。B。C。"]
    settings = [{"voice": "tone-low"}, {"rate": 20}, {"pause": 700}, {"voice": None}]

    def offered() -> list[int]:
        return [s["index"] for s in session.state()["sentences"] if s["undo"]]

    try:
        for _ in range(40):
            index = choose.randrange(len(session.plan.segments))
            step = choose.random()
            if step < 0.35:
                session.retake(index, choose.choice(texts))
            elif step < 0.6:
                session.retake(index, settings=choose.choice(settings))
            elif step < 0.7:
                session.set_reading(index, session.plan.segments[index].shown[:2], "读音")
            elif index in offered():
                session.undo(index)
        while undoable := offered():
            session.undo(choose.choice(undoable))
    finally:
        session.close()
    assert talk(tmp_path) == SCRIPT
    assert lexicon.read_text(encoding="utf-8") == ""


# --- another program, other line breaks, other lexicons ----------------------------------------


def open_studio(folder: Path, script: bytes, lexicon: bytes | None = None, name: str = "talk.txt"):
    (folder / name).write_bytes(script)
    if lexicon is not None:
        (folder / "names.tsv").write_bytes(lexicon)
    options = pipeline.RenderOptions(engine="tone", lexicon=folder / "names.tsv")
    return Studio(folder / name, options, pipeline.Outputs.beside(folder / "t.mp3"))


@pytest.mark.parametrize(
    ("script", "edited"),
    [
        ("甲。\r乙。\n乙。\n", "甲。\r丙。\n乙。\n"),  # a lone CR ends a line, as the reader says
        ("\u200b\u200b\u200b\u200bab. ab. ab.\n", "\u200b\u200b\u200b\u200bab. cd. ab.\n"),
    ],
)
def test_a_retake_lands_on_its_own_sentence_whatever_the_line_breaks(tmp_path, script, edited):
    """Lines were counted by LF alone and zero-width characters took a column: the re-take of
    one sentence rewrote another that read the same."""
    session = open_studio(tmp_path, script.encode())
    try:
        session.retake(1, "丙。" if "甲" in script else "cd.")
        assert (tmp_path / "talk.txt").read_bytes().decode() == edited
        session.undo(1)
    finally:
        session.close()
    assert (tmp_path / "talk.txt").read_bytes().decode() == script


def test_a_file_another_program_changed_is_read_again_before_an_edit(tmp_path: Path):
    """An undo once put its text back where it had been before the file moved: over the
    author's own sentence, which read the same."""
    session = open_studio(tmp_path, "乙。甲。\n".encode())
    try:
        session.retake(1, "乙。")
        (tmp_path / "talk.txt").write_text("新的。乙。乙。\n", encoding="utf-8")
        with pytest.raises(InputError, match="talk.txt changed outside the studio"):
            session.undo(1)
        assert talk(tmp_path) == "新的。乙。乙。\n"
        assert [s["shown"] for s in session.state()["sentences"]] == ["新的。", "乙。", "乙。"]
        session.undo(2)  # the studio's change, where it is now
        assert talk(tmp_path) == "新的。乙。甲。\n"
        (tmp_path / "talk.txt").write_text("丁。\n新的。乙。甲。\n", encoding="utf-8")
        with pytest.raises(InputError, match="changed outside the studio"):
            session.retake(3, "戊。")
        session.retake(3, "戊。")  # sentence 4 is 甲 now, on line 2
        assert talk(tmp_path) == "丁。\n新的。乙。戊。\n"
    finally:
        session.close()


def test_a_reading_keeps_the_lexicons_own_bytes_and_undo_gives_them_back(tmp_path: Path):
    lexicon = "\ufeff# names\r\nAI\tA I\r\n重庆\tchong2 qing4".encode()
    session = open_studio(tmp_path, "我们的AI很好。\n".encode(), lexicon)
    try:
        session.set_reading(0, "我们", "我门")
        assert (tmp_path / "names.tsv").read_bytes() == lexicon + "\r\n我们\t我门".encode()
        session.set_reading(0, "AI", "")
        assert (tmp_path / "names.tsv").read_bytes() == (
            "\ufeff# names\r\n重庆\tchong2 qing4\r\n我们\t我门".encode()
        )
        session.undo(0)
        session.undo(0)
    finally:
        session.close()
    assert (tmp_path / "names.tsv").read_bytes() == lexicon


@pytest.mark.parametrize(
    ("spoken", "says"),
    [("。", "nothing that can be spoken"), ("#", "nothing that can be spoken")],
)
def test_a_reading_that_says_nothing_is_refused(studio_with_lexicon, spoken, says):
    """Such a reading made its sentence vanish from the page: saved, and never undoable."""
    session, folder = studio_with_lexicon
    with pytest.raises(InputError, match=says):
        session.set_reading(1, "同志们", spoken)
    assert len(session.state()["sentences"]) == 5
    assert (folder / "names.tsv").read_bytes() == b""


def test_a_written_form_the_lexicon_reads_as_a_comment_is_refused(studio_with_lexicon):
    session, folder = studio_with_lexicon
    session.retake(1, "#1号同志们好。")
    with pytest.raises(InputError, match="cannot start with #"):
        session.set_reading(1, "#1号", "一号")
    assert (folder / "names.tsv").read_bytes() == b""


@pytest.fixture
def studio_with_lexicon(tmp_path: Path):
    session = open_studio(tmp_path, SCRIPT.encode(), b"")
    yield session, tmp_path
    session.close()


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("a folder", "names.tsv: is a directory"),
        ("GB18030", "names.tsv: a lexicon must be UTF-8"),
        ("UTF-16", "names.tsv: a lexicon must be UTF-8"),
    ],
)
def test_a_lexicon_that_cannot_be_edited_is_a_one_line_refusal(studio_with_lexicon, how, says):
    session, folder = studio_with_lexicon
    lexicon = folder / "names.tsv"
    lexicon.unlink()
    if how == "a folder":
        lexicon.mkdir()
    else:
        lexicon.write_bytes("同志们\t同志门\n".encode(how.lower()))
    with pytest.raises(InputError, match=says):
        session.set_reading(1, "同志们", "同志们呀")
    assert len(session.state()["sentences"]) == 5
    if how != "a folder":
        assert lexicon.read_bytes() == "同志们\t同志门\n".encode(how.lower())


@pytest.mark.parametrize("how", ["removed", "a folder"])
def test_a_script_gone_mid_session_is_refused_and_the_page_still_shows(studio, tmp_path, how):
    script = tmp_path / "talk.txt"
    script.unlink()
    if how == "a folder":
        script.mkdir()
    state = studio.state()
    assert len(state["sentences"]) == 5 and not any(s["editable"] for s in state["sentences"])
    for act in (lambda: studio.retake(1, "好。"), lambda: studio.undo(1)):
        with pytest.raises(InputError, match="talk.txt: (no such file|is a directory)"):
            act()


@pytest.mark.parametrize(
    "text",
    ["**好**。", "<!-- 注 -->好。", "# 好。", "1. 好。", "&amp;好。", "`好`。", "好  。"],
)
def test_a_markdown_retake_must_read_as_written(tmp_path: Path, text: str):
    """Saved into a .md file, such a text read as something else, or as nothing: an HTML
    comment took the sentence and its neighbours off the page, with no undo."""
    markdown = "# 标题\n\n甲说：我们开会。乙说：散会吧！\n"
    session = open_studio(tmp_path, markdown.encode(), name="talk.md")
    try:
        with pytest.raises(InputError, match="line 3: the new text reads otherwise in Markdown"):
            session.retake(1, text)
        session.retake(1, "好_啊_，[[注]。")  # what reads as written is saved
        assert session.state()["sentences"][1]["shown"] == "好_啊_，[注]。"
    finally:
        session.close()
    assert (tmp_path / "talk.md").read_text(encoding="utf-8") == markdown.replace(
        "甲说：我们开会。", "好_啊_，[[注]。"
    )


def test_readings_added_to_a_lexicon_without_a_final_line_break_are_undone_in_any_order(
    tmp_path: Path,
):
    """The first reading once added the missing line break, which the second one needed:
    undoing the first alone joined the second to the line before it, and the lexicon broke."""
    session = open_studio(tmp_path, SCRIPT.encode(), b"AI\tA I")
    try:
        session.set_reading(1, "同志们", "同志门")
        session.set_reading(2, "首先", "首先呀")
        session.undo(1)
        assert (tmp_path / "names.tsv").read_bytes() == "AI\tA I\n首先\t首先呀".encode()
        session.undo(2)
    finally:
        session.close()
    assert (tmp_path / "names.tsv").read_bytes() == b"AI\tA I"


def test_a_reading_stays_undoable_once_a_setting_of_its_sentence_is_undone(tmp_path: Path):
    """A setting rewrites markup on both sides of its sentence, one stretch holding it: the
    reading's sentence was moved to the stretch's start, and lost there once it was undone."""
    session = open_studio(tmp_path, "甲。[rate +10%]乙。\n".encode(), b"")
    try:
        session.set_reading(1, "乙", "乙乙")
        session.retake(1, settings={"rate": -10, "pause": 300})
        session.undo(1)
        assert session.state()["sentences"][1]["undo"]
        session.undo(1)
    finally:
        session.close()
    assert (tmp_path / "names.tsv").read_bytes() == b""
    assert talk(tmp_path) == "甲。[rate +10%]乙。\n"


@pytest.mark.parametrize("text", ["]好。", "”好。", "）好。"])
def test_a_text_that_would_join_the_sentence_before_it_is_refused(studio, tmp_path, text):
    """Closing punctuation at its start joined the sentence before: that sentence changed,
    and the re-take, which no sentence then began with, could not be undone."""
    before = studio.state()
    with pytest.raises(InputError, match="line 3: the new text would join the sentence before"):
        studio.retake(2, text)
    assert studio.state() == before
    assert talk(tmp_path) == SCRIPT


def test_a_setting_removed_before_a_text_that_begins_with_a_bracket_can_be_undone(
    studio: Studio, tmp_path: Path
):
    """The shortest stretch that differs took the [ of "[voice default]" for the text's own
    "[[": it began inside the sentence, and the change belonged to no sentence."""
    studio.retake(2, "[[注]首先，我们开会。")
    studio.retake(1, settings={"voice": "tone-low"})  # [voice default] before sentence 3
    after = studio.retake(2, settings={"voice": None})
    assert after["sentences"][2]["undo"]
    for index in (2, 1, 2):
        studio.undo(index)
    assert talk(tmp_path) == SCRIPT


def test_a_reading_follows_its_sentence_through_markup_removed_and_put_back(tmp_path: Path):
    """Markup removed before a text that begins with "]" and put back by an undo: the
    reading's sentence was then found one character early, and the reading never undone."""
    script = "大会\n\n今天开会。首先问候！\n[voice tone-low]过去一年，增长12.5%。\n二、成绩\n"
    session = open_studio(tmp_path, script.encode(), b"")
    settings = {"voice": "tone-low", "rate": -10, "pause": 300}
    try:
        session.retake(2, settings=settings)  # [rate default] before sentence 4
        session.set_reading(3, "过去", "过去呀")
        session.retake(3, "]好。")
        session.retake(4, settings=settings)
        session.retake(3, settings={"rate": None})
        while offered := [s["index"] for s in session.state()["sentences"] if s["undo"]]:
            session.undo(offered[0])
    finally:
        session.close()
    assert (tmp_path / "names.tsv").read_bytes() == b""
    assert talk(tmp_path) == script


def test_a_reading_moves_along_the_lexicon_when_an_earlier_one_is_undone(tmp_path: Path):
    """A reading's stretch of the lexicon once began at its sentence's place in the script:
    an earlier reading undone then moved neither, and the later one could not be undone."""
    session = open_studio(tmp_path, SCRIPT.encode(), b"AI\tA I\n")
    try:
        session.set_reading(4, "研发", "研究开发")
        session.set_reading(0, "科技", "科学技术")
        session.undo(4)
        assert session.state()["sentences"][0]["undo"]
        session.undo(0)
    finally:
        session.close()
    assert (tmp_path / "names.tsv").read_bytes() == b"AI\tA I\n"


def test_the_page_follows_lines_another_program_added_at_both_ends(studio: Studio, tmp_path: Path):
    """Lines added before and after by another program: the page offered no undo (its
    sentences were still where they had been), and following them took the whole file for
    one change, dropping every undo between."""
    studio.retake(2, settings={"rate": 20})
    (tmp_path / "talk.txt").write_text("前言。\n" + talk(tmp_path) + "结语。\n", encoding="utf-8")
    state = studio.state()
    assert [s["index"] for s in state["sentences"] if s["undo"]] == [3]
    studio.undo(3)
    assert talk(tmp_path) == "前言。\n" + SCRIPT + "结语。\n"


def test_a_finding_shows_on_its_sentence_after_a_line_spoken_in_pieces(tmp_path: Path):
    runaway = "我们要继续推动科技创新加快建设现代化产业体系" * 25  # 550 characters: 3 pieces
    (tmp_path / "talk.txt").write_text(f"{runaway}\n\n今天开会,明天休息。\n", encoding="utf-8")
    outputs = pipeline.Outputs.beside(tmp_path / "talk.mp3")
    session = Studio(tmp_path / "talk.txt", pipeline.RenderOptions(engine="tone"), outputs)
    try:
        sentences = session.state()["sentences"]
    finally:
        session.close()
    flagged = [
        s["index"] for s in sentences if any(f["kind"] == "punctuation" for f in s["findings"])
    ]
    assert len(sentences) > 3 and flagged == [len(sentences) - 1]


def test_a_studio_opened_in_the_background_speaks_nothing_until_started(tmp_path: Path):
    """Before :meth:`Studio.start` nothing is spoken: the state lists every sentence as
    waiting, and the preview, edits and export are refused; started, every sentence has its
    clip, and the programme is the one a studio opened at once makes."""
    from voicer.studio.session import Rendering

    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    outputs = pipeline.Outputs.beside(tmp_path / "out" / "talk.mp3")
    options = pipeline.RenderOptions(engine="tone")
    session = Studio(tmp_path / "talk.txt", options, outputs, background=True)
    try:
        waiting = session.state()
        assert waiting["rendering"] and waiting["ready"] == 0 and waiting["duration"] == 0
        assert [s["ready"] for s in waiting["sentences"]] == [False] * 5
        with pytest.raises(Rendering, match="0 of 5 sentences ready"):
            session.preview_wav()
        with pytest.raises(Rendering, match="still running"):
            session.retake(2, EDITED)
        with pytest.raises(Rendering, match="still running"):
            session.export()
        assert not (tmp_path / "out").exists()
        assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SCRIPT
        session.start()
        assert session.wait(timeout=60)
        done = session.state()
        assert not done["rendering"] and done["ready"] == 5 and done["render_error"] is None
        at_once = Studio(tmp_path / "talk.txt", options, outputs)
        try:
            assert hashes(done) == hashes(at_once.state())
            assert session.preview_wav() == at_once.preview_wav()
        finally:
            at_once.close()
    finally:
        session.close()
