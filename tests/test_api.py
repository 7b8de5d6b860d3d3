"""The public API at the top level, loaded lazily, and the docstring examples, run as doctests."""

import doctest
import importlib
import pkgutil
import socket
import subprocess
import sys

import pytest

import pix2pix_tf


def test_public_api_names_resolve_to_their_modules():
    for name in pix2pix_tf.__all__:
        value = getattr(pix2pix_tf, name)
        assert value is not None, name
        if name != "__version__":
            assert value.__module__.startswith("pix2pix_tf."), (name, value.__module__)
    assert "Pix2Pix" in dir(pix2pix_tf)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pix2pix_tf.nope  # noqa: B018


def test_importing_the_package_does_not_import_tensorflow():
    code = "import sys, pix2pix_tf, pix2pix_tf.apps.cli; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _modules():
    names = ["pix2pix_tf"]
    for info in pkgutil.walk_packages(pix2pix_tf.__path__, "pix2pix_tf."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    """Every ``>>>`` example in the library runs (those that need data files are skipped)."""
    monkeypatch.chdir(tmp_path)  # examples that write files write here

    def offline(*args, **kwargs):
        raise OSError("the doctests run offline")

    monkeypatch.setattr(socket.socket, "connect", offline)  # an example that downloads fails fast
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = dict(vars(module))
    for extra in ("keras", "tf", "np"):
        if extra not in globs:
            globs[extra] = importlib.import_module({"tf": "tensorflow", "np": "numpy"}.get(extra, extra))
    for test in finder.find(module, name, globs=globs):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
