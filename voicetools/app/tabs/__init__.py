"""One module per app tab; each defines ``TAB = TabSpec(...)`` and is listed in ``app/registry.py``.
What the tabs share is in ``common.py``."""
