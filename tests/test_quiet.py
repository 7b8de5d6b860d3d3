"""Native libraries' notices on file descriptor 2 stay out of the user's stderr; real errors do not.

libjpeg (inside TensorFlow's JPEG decoder) and the TFLite converter write some lines to fd 2
themselves, where Python's ``sys.stderr``, TensorFlow's log level and pytest's ``capsys``
never see them. :func:`pix2pix_tf.host.native_stderr.native_stderr_filtered` holds fd 2 back
around those calls and passes on every line that is not a known harmless one. The filter is
tested here with ``os.write(2, ...)`` under ``capfd`` (which captures fd 2 itself), the
decoder and the converter in-process under ``capfd``, and the command line in real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_pair, write_image
from pix2pix_tf.data.files import DataError
from pix2pix_tf.data.images import read_image
from pix2pix_tf.host.native_stderr import JPEG_DECODER_MESSAGES, native_stderr_filtered
from pix2pix_tf.run.tflite import INT8_EXPORT_MESSAGES

# The lines TensorFlow 2.21 printed before the fix (prefix of the absl line: level, date, time,
# thread id), and lines that must always get through.
DECODER_LINES = [
    "E0000 00:00:1796558169.463012    4147 jpeg_mem.cc:331] Premature end of JPEG data. "
    "Stopped at line 14/32",
    "E0000 00:00:1796558869.386592   11793 jpeg_mem.cc:165]  Invalid components value 0",
    "Improper call to JPEG library in state 201",
    "Improper call to JPEG library in state 203",
    "Input file read error",
    "Bogus marker length",
    "Bogus Huffman table definition",
    "Corrupt JPEG data: premature end of data segment",
    "Corrupt JPEG data: 2 extraneous bytes before marker 0xd9",
    "Not a JPEG file: starts with 0x89 0x50",
]
CONVERTER_LINES = [
    "fully_quantize: 0, inference_type: 6, input_inference_type: FLOAT32, "
    "output_inference_type: FLOAT32",
    "E0000 00:00:1796558562.380898    8778 util.cc:131] oneDNN supports DT_UINT8 only on "
    "platforms with AVX-512. Falling back to the default Eigen-based implementation if present.",
]
GENUINE_LINES = [
    "Insufficient memory (case 4)",  # libjpeg, but a real problem
    "E0000 00:00:1796558169.463012    4147 jpeg_mem.cc:331] something else went wrong",
    "E0000 00:00:1796558169.463012    4147 jpeg_mem.cc:190] Image too large: 987654321",
    "E0000 00:00:1796558169.463012    4147 cuda_platform.cc:52] failed call to cuInit",
    "fatal: No space left on device",
    "Traceback (most recent call last):",
    "fully_quantize: 0, plus something we did not expect",
]


def _known(line: str, patterns) -> bool:
    return any(p.fullmatch(line) for p in patterns)


def test_the_patterns_match_the_known_lines_only():
    assert all(_known(line, JPEG_DECODER_MESSAGES) for line in DECODER_LINES)
    assert all(_known(line, INT8_EXPORT_MESSAGES) for line in CONVERTER_LINES)
    for line in GENUINE_LINES:
        assert not _known(line, JPEG_DECODER_MESSAGES + INT8_EXPORT_MESSAGES), line


# ------------------------------------------------------------------ the filter itself
def test_the_filter_drops_known_lines_and_passes_the_rest_in_order(capfd):
    with native_stderr_filtered(JPEG_DECODER_MESSAGES):
        os.write(2, b"Improper call to JPEG library in state 201\n")
        os.write(2, b"real error: the disk is on fire\n")
        os.write(2, "Corrupt JPEG data: premature end of data segment\n".encode())
        os.write(2, (DECODER_LINES[1] + "\n\n").encode())  # a blank line after a known one goes too
        os.write(2, b"Input file read error\nsecond real line\n\nno newline at the end")
        assert capfd.readouterr().err == ""  # held back until the block ends
    out, err = capfd.readouterr()
    assert err == "real error: the disk is on fire\nsecond real line\n\nno newline at the end"
    os.write(2, b"after the block\n")  # fd 2 is the real one again
    assert capfd.readouterr().err == "after the block\n"


def test_the_filter_passes_genuine_lines_when_the_block_raises(capfd):
    with pytest.raises(ValueError, match="boom"):
        with native_stderr_filtered(JPEG_DECODER_MESSAGES):
            os.write(2, b"Improper call to JPEG library in state 201\n")
            os.write(2, b"genuine: something broke\n")
            raise ValueError("boom")
    assert capfd.readouterr().err == "genuine: something broke\n"


def test_overlapping_blocks_in_threads_lose_no_line(capfd):
    """fd 2 is the process's: threads whose blocks overlap share one redirection."""
    inside = threading.Barrier(4)

    def work(i):
        with native_stderr_filtered(JPEG_DECODER_MESSAGES if i % 2 else INT8_EXPORT_MESSAGES):
            inside.wait()  # all four blocks are open at once
            os.write(2, f"genuine {i}\n".encode())
            os.write(2, (DECODER_LINES[1] if i % 2 else CONVERTER_LINES[0]).encode() + b"\n")
            inside.wait()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(capfd.readouterr().err.splitlines()) == [f"genuine {i}" for i in range(4)]
    os.write(2, b"restored\n")
    assert capfd.readouterr().err == "restored\n"


def test_nested_blocks_restore_fd2_once(capfd):
    with native_stderr_filtered(INT8_EXPORT_MESSAGES):
        with native_stderr_filtered(JPEG_DECODER_MESSAGES):
            os.write(2, (DECODER_LINES[0] + "\n" + CONVERTER_LINES[0] + "\nkeep me\n").encode())
        os.write(2, b"keep me too\n")
    assert capfd.readouterr().err == "keep me\nkeep me too\n"


def test_without_room_for_the_held_file_the_block_runs_unfiltered(capfd, monkeypatch):
    import tempfile

    def full_disk():
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full_disk)
    with native_stderr_filtered(JPEG_DECODER_MESSAGES):
        os.write(2, b"Input file read error\nstill shown\n")
    assert capfd.readouterr().err == "Input file read error\nstill shown\n"


# ------------------------------------------------------------------ the native calls
def _damaged_jpegs(folder):
    """JPEGs cut where TensorFlow's decoder prints each of its lines, and one it decodes."""
    data = tf.io.encode_jpeg(make_pair(np.random.default_rng(0), 32, 32), quality=90).numpy()
    cuts = {"half.jpg": data[: len(data) // 2],  # jpeg_mem: Premature end of JPEG data
            "header.jpg": data[:100],  # Improper call to JPEG library in state 201
            "start.jpg": data[:20],  # Input file read error
            "eoi.jpg": data[: len(data) // 2] + b"\xff\xd9"}  # decodes: Corrupt JPEG data ...
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in cuts.items():
        (folder / name).write_bytes(content)
    return [folder / name for name in cuts]


def test_reading_damaged_jpegs_prints_nothing_on_fd2(tmp_path, capfd):
    *refused, decoded = _damaged_jpegs(tmp_path)
    tf.config.list_physical_devices()  # TensorFlow's own start-up lines ("cuInit") come first
    capfd.readouterr()
    for path in refused:
        with pytest.raises(DataError, match=f"{path.name}: not a readable JPEG/PNG image"):
            read_image(path)
    assert read_image(decoded).shape == (32, 64, 3)
    assert capfd.readouterr().err == ""


def test_an_int8_conversion_prints_nothing_on_fd2(capfd):
    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.generator import build_generator
    from pix2pix_tf.layers import set_inference_mode
    from pix2pix_tf.run.tflite import convert_generator

    g = build_generator(Pix2PixConfig(image_size=32, load_size=32, ngf=4))
    set_inference_mode(g, "deterministic")
    calibration = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    capfd.readouterr()
    assert convert_generator(g, (32, 32, 3), "int8", calibration)[4:8] == b"TFL3"
    err = capfd.readouterr().err
    assert "fully_quantize" not in err and "oneDNN" not in err, err


# ------------------------------------------------------------------ real processes
def _cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "pix2pix_tf.apps.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


def test_a_damaged_jpeg_refusal_in_a_real_process_is_one_line(tmp_path):
    data = tmp_path / "data"
    for i in range(2):
        write_image(data / "train" / f"{i}.png", make_pair(np.random.default_rng(i), 64, 64))
    _damaged_jpegs(data / "train")
    r = _cli("train", "--data", data, "--out", tmp_path / "run", "--image-size", 64, "--steps", 1,
             cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [
        f"pix2pix-tf train: error: {data / 'train' / 'half.jpg'}: not a readable JPEG/PNG image "
        "(jpeg::Uncompress failed. Invalid JPEG data or crop window.) (and 2 more bad file(s); "
        "--skip-bad-files leaves them out)"], r.stderr
    assert not (tmp_path / "run").exists()


def test_filtering_in_a_real_process_keeps_genuine_lines(tmp_path):
    """Outside pytest's capture: a real fd 2, written by TensorFlow's decoder and by hand."""
    paths = _damaged_jpegs(tmp_path / "jpegs")
    script = (
        "import os, sys\n"
        "from pix2pix_tf.data.files import DataError\n"
        "from pix2pix_tf.data.images import read_image\n"
        "from pix2pix_tf.host.native_stderr import JPEG_DECODER_MESSAGES, native_stderr_filtered\n"
        "import tensorflow as tf; tf.config.list_physical_devices()\n"
        "os.write(2, b'--- start\\n')\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        read_image(path)\n"
        "    except DataError:\n"
        "        pass\n"
        "with native_stderr_filtered(JPEG_DECODER_MESSAGES):\n"
        "    os.write(2, b'Improper call to JPEG library in state 201\\n')\n"
        "    os.write(2, b'genuine: out of film\\n')\n"
        "    print('a Python line on stderr', file=sys.stderr)\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}  # as the command line: errors are printed
    r = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True,
                       text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.split("--- start\n", 1)[1] == "genuine: out of film\na Python line on stderr\n", \
        r.stderr


@pytest.mark.slow
def test_an_int8_export_in_a_real_process_prints_only_its_result(trained_run, tmp_path):
    root = trained_run[0]
    r = _cli("export", "--run", root / "run", "--out", tmp_path / "g.tflite", "--format", "tflite",
             "--quantize", "int8", "--calibration-data", root / "data", "--calibration-count", 2,
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.strip().endswith("g.tflite")
