"""Subtitles: cutting sentences into captions, timing cues on the programme, checking them
against a profile, and writing them (SRT, WebVTT, the JSON timeline)."""
