"""Running the command line in-process for hostile-input tests, and checking its refusals."""

from __future__ import annotations

import time

from pix2pix_tf.apps.cli import main


def run(capsys, *argv) -> tuple[int, str, str, float]:
    """``pix2pix-tf ARGV`` in this process: (exit status, stdout, stderr, seconds)."""
    start = time.perf_counter()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err, time.perf_counter() - start


def assert_refused(result, *fragments) -> str:
    """Exit status 2 and exactly one stderr line, ``pix2pix-tf CMD: error: ...`` with ``fragments``."""
    code, out, err, _ = result
    assert code == 2, (code, out, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pix2pix-tf") and ": error: " in lines[0], lines[0]
    for fragment in fragments:
        assert str(fragment) in lines[0], lines[0]
    return lines[0]
