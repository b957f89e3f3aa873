"""An MP3 is measured while it is encoded, from the encoder's stream: the figures must be those
of the finished file decoded as a player decodes it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from measure import speechlike

from voicer import ffmpeg
from voicer.audio import mastering
from voicer.audio.delivery import delivery_for, encode_heard
from voicer.audio.stream import ArraySignal


@pytest.mark.parametrize(("rate", "channels"), [(48000, 1), (24000, 1), (44100, 2)])
def test_measured_while_encoded_reads_as_the_file_decoded(tmp_path: Path, rate: int, channels: int):
    path = tmp_path / "speech.mp3"
    delivery = delivery_for(path, sample_rate=rate, channels=channels)
    source = ArraySignal(speechlike(rate, 6, peak=0.3), rate)
    heard = mastering.encode_measured(source, delivery, path, "speech.mp3")
    assert mastering.mp3_encoder_delay(path) == mastering.LAME_ENCODER_DELAY
    played = mastering.measure_file(path, delivery)
    assert heard.integrated == pytest.approx(played.integrated, abs=1e-9)
    assert heard.true_peak == pytest.approx(played.true_peak, abs=1e-9)
    assert heard.loudness_range == pytest.approx(played.loudness_range, abs=1e-9)
    decoded = np.concatenate(list(ffmpeg.decode_blocks(path, rate)))
    assert decoded.size == source.length


def test_any_file_name_is_written(tmp_path: Path):
    path = tmp_path / "it's [a] b|c;d,e.mp3"
    delivery = delivery_for(path)
    source = ArraySignal(speechlike(48000, 2, peak=0.3), 48000)
    heard = mastering.encode_measured(source, delivery, path, path.name)
    assert sorted(tmp_path.iterdir()) == [path]
    assert math.isfinite(heard.integrated)
    played = mastering.measure_file(path, delivery)
    assert (heard.integrated, heard.true_peak) == pytest.approx(
        (played.integrated, played.true_peak)
    )


def test_a_delivered_mp3_is_on_target(tmp_path: Path):
    path = tmp_path / "speech.mp3"
    settings = mastering.mastering_for(path, preset="podcast")
    assert settings.target is not None
    source = ArraySignal(speechlike(24000, 8), 24000)
    measured = mastering.deliver(source, settings.delivery, settings.target, path)
    played = mastering.measure_file(path, settings.delivery)
    lufs, ceiling = settings.target
    assert abs(played.integrated - lufs) <= 0.1
    assert played.true_peak <= ceiling - mastering.METER_MARGIN_DB
    assert measured.integrated == pytest.approx(played.integrated, abs=1e-9)


def test_no_lame_tag_reads_as_none(tmp_path: Path):
    path = tmp_path / "speech.wav"
    source = ArraySignal(speechlike(48000, 1), 48000)
    mastering.encode_measured(source, delivery_for(path), path, path.name)
    assert mastering.mp3_encoder_delay(path) is None


def test_the_stream_is_the_file_after_the_codecs_delay(tmp_path: Path):
    # the premise of measuring while encoding: what the encoder's stream decodes to is the
    # file's samples, after LAME's delay and the decoder's, exactly
    path = tmp_path / "speech.mp3"
    delivery = delivery_for(path)
    source = ArraySignal(speechlike(48000, 3, peak=0.3), 48000)
    heard: list[np.ndarray] = []
    encode_heard(source, delivery, path, heard.append)
    stream = np.concatenate(heard)
    played = np.concatenate(list(ffmpeg.decode_blocks(path, 48000)))
    skip = mastering.LAME_ENCODER_DELAY + mastering.MP3_DECODER_DELAY
    assert played.size == source.length
    assert np.array_equal(stream[skip : skip + played.size], played)
