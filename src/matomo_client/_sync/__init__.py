"""The sync client, generated from `_async` by `scripts/unasync.py` (except `_backend.py`)."""
