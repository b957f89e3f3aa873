"""The synthesis stage: engines, and speaking sentences through the cache with retries, several
at a time."""
