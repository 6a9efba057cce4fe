"""The package version, in a module of its own: lower layers (checkpoints) read it without importing the task
packages that ``voicetools/__init__.py`` re-exports."""

__version__ = "0.1.0"
