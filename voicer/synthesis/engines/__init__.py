"""The speech engines, one module each; the Engine protocol (:mod:`.protocol`), the table of
engines by name (:mod:`.registry`), the voices across engines (:mod:`.voice_names`) and the
choice of an engine and voice per render (:mod:`.selection`)."""
