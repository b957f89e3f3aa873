"""The errors voicer reports to its users, each with the exit code the CLI uses."""


class VoicerError(Exception):
    """A failure explained in one line; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class InputError(VoicerError):
    """Bad input or usage, found before any synthesis starts (exit code 2)."""

    exit_code = 2


class SynthesisError(VoicerError):
    """An engine failed to produce audio for a segment (exit code 1)."""


class EngineUnavailable(SynthesisError):
    """An engine cannot be used at all here (no network, missing model, ...)."""


class OutputError(VoicerError):
    """Encoding or writing an output file failed (exit code 1)."""
