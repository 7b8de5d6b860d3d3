"""Native messages on file descriptor 2: hold them back and drop the known harmless ones.

C and C++ libraries (libjpeg inside TensorFlow, the TFLite converter) write some notices to
fd 2 themselves, past Python's ``sys.stderr`` and TensorFlow's log level:
:func:`native_stderr_filtered` lets a command whose answer is one line stay one line, while a
line nobody expected still reaches the user.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from typing import Iterable, Iterator

_ABSL = r"[IWEF]\d{4} +[\d:.]+ +\d+ "  # the prefix of a TensorFlow C++ log line

#: Lines TensorFlow's JPEG decoder writes straight to file descriptor 2 (no Python logging;
#: TF_CPP_MIN_LOG_LEVEL=2 keeps its errors) about a damaged file: libjpeg's messages, one per
#: line, and ``jpeg_mem.cc``'s errors about a cut or unreadable header. They say nothing the
#: caller does not already say: a file TensorFlow cannot decode becomes a DataError naming
#: it, one it decodes is usable. Lines about anything else (memory, a too large image, a
#: library version) are not here.
JPEG_DECODER_MESSAGES = tuple(re.compile(p) for p in (
    _ABSL + r"jpeg_mem\.cc:\d+\] +(Premature end of JPEG data\. Stopped at line \d+/\d+"
    r"|Invalid components value \d+|Invalid image size: \d+ x \d+)",
    r"Improper call to JPEG library in state \d+",
    r"Corrupt JPEG data: .+",
    r"Premature end of (JPEG|input) file",
    r"Input file read error",
    r"Empty input file",
    r"Not a JPEG file: starts with 0x[0-9a-f]{2} 0x[0-9a-f]{2}",
    r"Invalid JPEG file structure: .+",
    r"JPEG datastream contains no image",
    r"Unsupported JPEG process: SOF type 0x[0-9a-f]{2}",
    r"Unsupported JPEG data precision \d+",
    r"Unsupported marker type 0x[0-9a-f]{2}",
    r"Bogus (marker length|Huffman table definition|sampling factors|JPEG colorspace"
    r"|D(AC|HT|QT) index \d+|DAC value 0x[0-9a-f]+)",
    r"(Huffman|Quantization|Arithmetic) table 0x[0-9a-f]{2} was not defined",
    r"Huffman code size table overflow",
    r"Missing Huffman code table entry",
    r"Invalid (component ID \d+ in SOS|SOS parameters for sequential JPEG"
    r"|progressive parameters .+)",
    r"Inconsistent progression sequence for component \d+ coefficient \d+",
    r"Empty JPEG image \(DNL not supported\)",
    r"Sampling factors too large for interleaved scan",
    r"Too many color components: \d+, max \d+",
    r"Maximum supported image dimension is \d+ pixels",
    r"Image too wide for this implementation",
    r"Warning: unknown JFIF revision number \d+\.\d+",
))


class _HeldFd2:
    """The one redirection of fd 2 that overlapping :func:`native_stderr_filtered` blocks share.

    fd 2 belongs to the process, and :func:`~pix2pix_tf.data.checks.check_pairs` decodes in
    threads: the first block to enter redirects it, the last to leave restores it and filters
    what every block wrote (against all their patterns), so no line is lost between them.
    """

    lock = threading.Lock()
    depth = 0
    saved: int | None = None
    held = None
    patterns: list = []


def _flush_python_stderr() -> None:
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):  # no sys.stderr, or a closed one
        pass


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


@contextlib.contextmanager
def native_stderr_filtered(patterns: Iterable[re.Pattern]) -> Iterator[None]:
    """Hold back what is written to file descriptor 2 in the block; drop known harmless lines.

    C and C++ libraries (libjpeg inside TensorFlow, the TFLite converter) write some notices
    to fd 2 themselves, past Python's ``sys.stderr`` and TensorFlow's log level, so a command
    whose answer is one line would print theirs too. During the block fd 2 goes to a
    temporary file; at its end (also when it raises) every line that does not fully match
    one of ``patterns`` is written to the real fd 2, in order: an error nobody expected
    still reaches the user. Where fd 2 cannot be redirected the block runs unfiltered.

    Args:
        patterns: compiled regular expressions; a line (without its newline) that one of
            them ``fullmatch``-es is dropped.

    Example:
        >>> with native_stderr_filtered(JPEG_DECODER_MESSAGES):  # doctest: +SKIP
        ...     tf.io.decode_image(damaged_jpeg_bytes)
    """
    state = _HeldFd2
    with state.lock:
        if state.depth == 0:
            _flush_python_stderr()
            saved = held = None
            try:
                saved = os.dup(2)
                held = tempfile.TemporaryFile()
                os.dup2(held.fileno(), 2)
                state.saved, state.held, state.patterns = saved, held, []
            except OSError:  # no fd 2, or no room for the file: the block runs unfiltered
                if held is not None:
                    held.close()
                if saved is not None:
                    os.close(saved)
        entered = state.saved is not None
        if entered:
            state.depth += 1
            state.patterns.extend(patterns)
    try:
        yield
    finally:
        if entered:
            with state.lock:
                state.depth -= 1
                if state.depth == 0:
                    _flush_python_stderr()  # Python's own writes of the block go through too
                    saved, held, known = state.saved, state.held, state.patterns
                    state.saved = state.held = None
                    state.patterns = []
                    os.dup2(saved, 2)
                    os.close(saved)
                    held.seek(0)
                    written = held.read()
                    held.close()
                    kept, dropped = [], False
                    for line in written.splitlines(keepends=True):
                        text = line.rstrip(b"\r\n").decode("utf-8", "replace")
                        # a notice's own trailing blank line (a C++ ``std::endl`` in a log line) goes too
                        dropped = any(p.fullmatch(text) for p in known) or (dropped and not text)
                        if not dropped:
                            kept.append(line)
                    try:
                        _write_all(2, b"".join(kept))
                    except OSError:
                        pass
