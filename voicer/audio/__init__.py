"""The audio stage: clips joined into a programme, levelled, mastered to a loudness target and
encoded."""
