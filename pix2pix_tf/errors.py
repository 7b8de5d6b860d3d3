"""The errors pix2pix-tf raises for what a user typed or pointed at.

All derive from :class:`Pix2PixError` (a ``ValueError``): the CLI prints one line,
``pix2pix-tf COMMAND: error: MESSAGE``, naming the file, folder, flag or config field, and exits
with its ``exit_code`` (2; 3 for a diverged training run). Subclasses live beside the code that
raises them: ``DataError`` (:mod:`pix2pix_tf.data`), ``RunDirError`` (:mod:`pix2pix_tf.run.folder`),
``WriteError`` and ``FolderBusy`` (:mod:`pix2pix_tf.host.writes`), ``DatasetError``
(:mod:`pix2pix_tf.datasets.standard`), ``TrainingDiverged`` (:mod:`pix2pix_tf.run.callbacks`).

Example:
    >>> try:
    ...     raise ConfigError("config field 'ngf' = 0: must be positive", field="ngf")
    ... except Pix2PixError as e:
    ...     print(e.exit_code, e.field)
    2 ngf
"""

from __future__ import annotations


class Pix2PixError(ValueError):
    """Base of the errors caused by user input; the CLI prints them as one line and exits 2."""

    exit_code = 2


class ConfigError(Pix2PixError):
    """A configuration value is out of range or unknown; ``field`` names it (None when there is none)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ResourceError(ConfigError):
    """The config is valid but would need more memory than this machine has."""


def one_line(text: object) -> str:
    """``str(text)`` with every run of whitespace (newlines too) made one space, for the CLI's error line."""
    return " ".join(str(text).split())
