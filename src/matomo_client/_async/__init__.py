"""The async client: the source of truth that `scripts/unasync.py` turns into `_sync`."""
