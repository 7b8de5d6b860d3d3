"""The errors pix2pix-tf raises for what a user typed or pointed at.

Every one derives from :class:`Pix2PixError` (a ``ValueError``): the CLI prints it as one
line, ``pix2pix-tf COMMAND: error: MESSAGE``, and exits with its ``exit_code`` (2; 3 for a
training run that diverged). The message names the file, folder, flag or config field.

The subclasses live beside the code that raises them: :class:`ConfigError` here;
``DataError`` (:mod:`pix2pix_tf.data`), ``RunDirError`` (:mod:`pix2pix_tf.run.folder`),
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
    """A configuration value is out of range or unknown; the message names the field.

    Attributes:
        field: the offending field's name, when there is one (None otherwise).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ResourceError(ConfigError):
    """The config is valid but would need more memory than this machine has."""


def one_line(text: object) -> str:
    """``str(text)`` with every run of whitespace (newlines too) made one space: how a
    message (or an exception embedded in one) is shown on the CLI's single error line."""
    return " ".join(str(text).split())
