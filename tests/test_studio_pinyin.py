"""voicer studio's readings over HTTP: every sentence's pinyin as ``voicer check --readings``
gives it, and a word's pinyin fixed from the page saved as a lexicon entry (refused with a
422 unless it is one valid syllable per character)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_studio_server import SPEECH, Server, start

from voicer import pipeline
from voicer.script import reading, spoken_form

pytestmark = pytest.mark.slow  # a studio server started in a subprocess, and its first render

LEXICON = "words.tsv"
HEADER = "# written\tspoken\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("studio")
    (folder / LEXICON).write_text(HEADER, encoding="utf-8")
    running = start(folder, "--lexicon", LEXICON)
    try:
        yield running
    finally:
        running.stop()


def test_each_sentence_shows_its_reading_as_check_gives_it(server: Server):
    with server.client() as client:
        sentences = client.get("/api/state").json()["sentences"]
    script = reading.read_script(server.folder / "talk.txt")
    lexicon = spoken_form.load_lexicon(server.folder / LEXICON)
    expected = pipeline.sentence_readings(script, lexicon)
    assert [(s["line"], s["column"], s["shown"]) for s in sentences] == [
        (r.line, r.column, r.text) for r in expected
    ]
    assert [s["pinyin"] for s in sentences] == [r.pinyin for r in expected]
    for sentence in sentences:
        assert sentence["pinyin"], sentence["shown"]
        assert " ".join(w["pinyin"] for w in sentence["words"]) == sentence["pinyin"]
        assert all(len(w["text"]) == len(w["pinyin"].split()) for w in sentence["words"])


def test_a_word_fixed_in_pinyin_is_a_lexicon_entry(server: Server):
    lexicon = server.folder / LEXICON
    with server.client() as client:
        before = client.get("/api/state").json()
        index = next(s["index"] for s in before["sentences"] if "全市" in s["shown"])
        fixed = client.post(
            f"/api/sentences/{index}/pinyin", json={"word": "全市", "pinyin": "quán shì"}
        )
        assert fixed.status_code == 200, fixed.text
        assert lexicon.read_text(encoding="utf-8") == HEADER + "全市\tquan2 shi4\n"
        after = fixed.json()
        assert after["version"] != before["version"]
        # undone like any reading: the lexicon as it was
        assert client.post(f"/api/sentences/{index}/undo").status_code == 200
        assert lexicon.read_text(encoding="utf-8") == HEADER
        undone = client.get("/api/state").json()
        assert [s["hash"] for s in undone["sentences"]] == [s["hash"] for s in before["sentences"]]
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"word": "全市", "pinyin": "quan2"}, "one syllable per character"),
        ({"word": "全市", "pinyin": "quan2 shi4 da4"}, "one syllable per character"),
        ({"word": "全市", "pinyin": "quan2 xx4"}, "not a pinyin syllable"),
        ({"word": "全市", "pinyin": "quán2 shi4"}, "a tone mark and a tone number"),
        ({"word": "大会", "pinyin": "da4 hui4"}, "does not contain"),  # not in sentence 3
        ({"word": "12.5%", "pinyin": "shi2"}, "Han characters"),
        ({"word": "全市" * 5000, "pinyin": "quan2"}, "at most 50 characters"),  # not echoed
    ],
)
def test_pinyin_that_does_not_fit_is_a_422(server: Server, body: dict[str, str], says: str):
    lexicon = server.folder / LEXICON
    with server.client() as client:
        index = next(
            s["index"]
            for s in client.get("/api/state").json()["sentences"]
            if "12.5%" in s["shown"]
        )
        refused = client.post(f"/api/sentences/{index}/pinyin", json=body)
    assert refused.status_code == 422, refused.text
    assert says in refused.json()["error"]
    assert refused.json()["index"] == index and "sentences" in refused.json()["state"]
    assert lexicon.read_text(encoding="utf-8") == HEADER


@pytest.mark.parametrize(
    "body",
    [
        {"word": "全市"},
        {"word": 1, "pinyin": "quan2 shi4"},
        {"word": "全市", "pinyin": ["quan2", "shi4"]},
        {"word": "全市", "pinyin": "quan2 shi4", "spoken": "x"},
    ],
)
def test_a_malformed_pinyin_request_is_a_400(server: Server, body: dict[str, object]):
    with server.client() as client:
        answer = client.post("/api/sentences/1/pinyin", json=body)
        assert answer.status_code == 400 and "error" in answer.json(), body
        missing = client.post("/api/sentences/99/pinyin", json={"word": "全市", "pinyin": "a"})
        assert missing.status_code == 404


@pytest.mark.slow
def test_without_a_lexicon_pinyin_is_refused_as_a_reading_is(tmp_path: Path):
    running = start(tmp_path)
    try:
        with running.client() as client:
            body = {"word": "全市", "pinyin": "quan2 shi4"}
            refused = client.post("/api/sentences/1/pinyin", json=body)
            reading_refused = client.post(
                "/api/sentences/1/reading", json={"written": "全市", "spoken": "x"}
            )
        assert refused.status_code == reading_refused.status_code == 422
        assert refused.json()["error"] == reading_refused.json()["error"]
        assert "--lexicon" in refused.json()["error"]
        assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SPEECH
    finally:
        running.stop()
