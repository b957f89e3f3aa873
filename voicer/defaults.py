"""The choices and defaults of voicer's settings, apart from the stages that use them: the
command line shows them (``voicer render --help``) and checks them without importing those
stages. Each stage takes its values from here."""

# preset: integrated loudness target in LUFS, true-peak ceiling in dBTP
LOUDNESS_PRESETS: dict[str, tuple[float, float]] = {
    "ebu-r128": (-23.0, -1.0),
    "atsc-a85": (-24.0, -2.0),
    "podcast": (-16.0, -1.0),
    "streaming": (-14.0, -1.0),
}
SUBTITLE_STYLES = ("zh-netflix", "plain")
ENGINE_NAMES = ("auto", "edge", "kokoro", "tone")  # tone: synthetic, for tests and benchmarks
CACHE_LIMIT_ENV = "VOICER_CACHE_MAX"
MARKDOWN_SUFFIXES = (".md", ".markdown")
SENTENCE_PAUSE_MS = 400
PARAGRAPH_PAUSE_MS = 900
RETRIES = 5  # further attempts after a transient engine failure
MARGIN_MS = 30  # audio kept before and after detected speech
MIX_LEVEL_LU = -20.0  # a video's own sound under speech, against the speech
DUCK_DB = 10.0  # how much louder that sound is between sentences
VIDEO_FITS = ("pad", "trim", "error")
VIDEO_SIZE = "1280x720"
