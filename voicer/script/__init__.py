"""The script stage: a draft read, filled, parsed and split into sentences, each with the text
subtitles show and the text the engine speaks."""
