"""Captioned video: backgrounds, burned-in captions, muxing, chapters."""
