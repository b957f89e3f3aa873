"""Alignment: where a script's sentences and words lie in a recording of someone reading it.

The script is synthesised (the reference), features of both are computed
(:mod:`~voicer.align.features`), a multi-scale dynamic time warping finds the path between
them (:mod:`~voicer.align.dtw`), and the path carries the reference's sentence and word
times onto the recording, each sentence with a confidence (:mod:`~voicer.align.mapping`).
"""
