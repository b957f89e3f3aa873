"""The errors voicer reports to its users, each with the exit code the CLI uses."""


class VoicerError(Exception):
    """A failure explained in one line; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class InputError(VoicerError):
    """Bad input or usage, found before any synthesis starts (exit code 2)."""

    exit_code = 2


class SynthesisError(VoicerError):
    """An engine failed to produce audio for a segment (exit code 1).

    ``transient``: the same request may well succeed if tried again (a timeout, a dropped
    connection, HTTP 503). ``throttled``: the service asked us to slow down (HTTP 429); a
    throttled error is always transient.

    >>> error = SynthesisError("edge: HTTP 429", throttled=True)
    >>> error.transient, error.throttled, str(error)
    (True, True, 'edge: HTTP 429')
    >>> SynthesisError("edge: bad voice").transient
    False
    """

    def __init__(self, *args: object, transient: bool = False, throttled: bool = False) -> None:
        super().__init__(*args)
        self.throttled = throttled
        self.transient = transient or throttled


class EngineUnavailable(SynthesisError):
    """An engine cannot be used at all here (no network, missing model, ...)."""


class OutputError(VoicerError):
    """Encoding or writing an output file failed (exit code 1)."""
