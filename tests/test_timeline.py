"""The JSON timeline: every sentence and cue with its text and times, read back as JSON."""

from __future__ import annotations

import json

import pytest

from voicer.model import Cue, Mark, Placement, Segment
from voicer.subtitles.timeline import timeline_json

SR = 24000

SENTENCES = [
    Placement(
        Segment(0, "一、开场白", "一、开场白", 0, 1, 1, True),
        1200,
        30000,
        (Mark(1200, 4800, "一"), Mark(9600, 30000, "开场白")),
    ),
    Placement(
        Segment(1, "今年GDP增长5.2%。", "今年G D P增长百分之五点二。", 1, 3, 1, False), 40000, 90001
    ),
]
CUES = [
    Cue(1200, 32000, ("一、开场白",), "一、开场白", 0),
    Cue(40000, 60000, ("今年GDP",), "今年GDP", 1),
    Cue(62000, 100001, ("增长5.2%",), "增长5.2%。", 1),
]


def test_timeline_has_every_sentence_and_cue_with_times_in_seconds_and_samples():
    text = timeline_json(SENTENCES, CUES, SR, "zm_yunxi", "kokoro", duration=4.5)
    assert "今年" in text  # not escaped
    document = json.loads(text)
    assert {k: document[k] for k in ("sample_rate", "engine", "voice", "duration")} == {
        "sample_rate": SR,
        "engine": "kokoro",
        "voice": "zm_yunxi",
        "duration": 4.5,
    }
    first, second = document["sentences"]
    assert first == {
        "index": 0,
        "line": 1,
        "column": 1,
        "paragraph": 0,
        "text": "一、开场白",
        "spoken": "一、开场白",
        "voice": "zm_yunxi",
        "start": 0.05,
        "end": 1.25,
        "start_sample": 1200,
        "end_sample": 30000,
        "cues": [
            {
                "index": 1,
                "text": "一、开场白",
                "lines": ["一、开场白"],
                "start": 0.05,
                "end": 1.333333,
                "start_sample": 1200,
                "end_sample": 32000,
                "reading_speed": 3.9,  # 5 characters in 1.283 s
            }
        ],
        "words": [
            {"text": "一", "start": 0.05, "end": 0.2, "start_sample": 1200, "end_sample": 4800},
            {
                "text": "开场白",
                "start": 0.4,
                "end": 1.25,
                "start_sample": 9600,
                "end_sample": 30000,
            },
        ],
    }
    assert second["spoken"] == "今年G D P增长百分之五点二。"
    assert second["end"] == 3.750042  # 90001 / 24000 = 3.75004166...
    assert [cue["index"] for cue in second["cues"]] == [2, 3]
    assert [cue["lines"] for cue in second["cues"]] == [["今年GDP"], ["增长5.2%"]]


def test_duration_is_optional():
    assert "duration" not in json.loads(timeline_json(SENTENCES, CUES, SR, "v", "edge"))


def test_a_cue_of_no_listed_sentence_is_an_error():
    with pytest.raises(ValueError, match="cue 1 belongs to sentence 7"):
        timeline_json(SENTENCES, [Cue(0, 1, ("x",), "x", 7)], SR, "v", "edge")
