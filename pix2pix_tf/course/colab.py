"""Running the course where its users are: Colab badges, the install cell, the device, Drive.

One place holds where the package comes from: :data:`REPOSITORY` and :data:`BRANCH`. The
notebooks' "Open in Colab" badges and their install cells are rendered from them by
``notebooks/tools/normalize.py`` (:func:`badge_row`, :func:`install_cell_source`), and
``tests/test_colab.py`` fails when a notebook disagrees. To move the repository (or to
point the course at a fork), change the two constants and run
``python notebooks/tools/normalize.py``.

The install cell runs before the package exists in a fresh Colab runtime, so it cannot
import this module: it is a text template with the repository written into it once,
``PIX2PIX_REPO = os.environ.get("PIX2PIX_REPO", "<REPOSITORY>")``.

Nothing here imports TensorFlow at module level: the tools and the tests read it cheaply.

Example:
    >>> badge_url("01_data_pipeline")
    'https://colab.research.google.com/github/pix2pix-tf/pix2pix-tf/blob/main/notebooks/01_data_pipeline.ipynb'
    >>> runs_root(False)
    PosixPath('runs')
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = "pix2pix-tf/pix2pix-tf"  # GitHub owner/name of the package and the course
BRANCH = "main"  # the branch the badges open and the install cell installs
NOTEBOOK_FOLDER = "notebooks"
DRIVE_MOUNT = "/content/drive"  # where Colab mounts Google Drive
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
GITHUB_BADGE = "https://img.shields.io/badge/View%20on-GitHub-181717?logo=github"
SWITCH_RUNTIME = "Runtime > Change runtime type > T4 GPU"


def in_colab() -> bool:
    """True inside a Colab runtime (its ``google.colab`` module is loaded)."""
    return "google.colab" in sys.modules


def _notebook_path(notebook_name: str) -> str:
    name = notebook_name if notebook_name.endswith(".ipynb") else f"{notebook_name}.ipynb"
    return f"{NOTEBOOK_FOLDER}/{Path(name).name}"


def badge_url(notebook_name: str, repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """The address that opens a notebook of the course in Colab.

    Args:
        notebook_name: ``"01_data_pipeline"`` or ``"01_data_pipeline.ipynb"``.
        repository: GitHub ``owner/name``.
        branch: the branch to open.
    """
    return f"https://colab.research.google.com/github/{repository}/blob/{branch}/{_notebook_path(notebook_name)}"


def github_url(notebook_name: str, repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """The address of a notebook of the course on GitHub."""
    return f"https://github.com/{repository}/blob/{branch}/{_notebook_path(notebook_name)}"


def badge_row(notebook_name: str, repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """The Markdown line of a notebook's first cell: an "Open In Colab" and a GitHub badge."""
    return (f"[![Open In Colab]({COLAB_BADGE})]({badge_url(notebook_name, repository, branch)}) "
            f"[![View on GitHub]({GITHUB_BADGE})]({github_url(notebook_name, repository, branch)})")


def install_spec(repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """What pip installs the package from: ``git+https://github.com/OWNER/NAME@BRANCH``."""
    if repository.count("/") != 1 or not all(repository.split("/")):
        raise ValueError(f"repository {repository!r}: expected GitHub 'owner/name'")
    return f"git+https://github.com/{repository}@{branch}"


def install_command(repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """The shell command that installs the package from GitHub, e.g. for a README."""
    return f'pip install -q "{install_spec(repository, branch)}"'


# The notebooks' first code cell. Kept free of IPython magics (plain Python, so the tests can
# run it) and of pix2pix_tf imports (the package is not there yet in a fresh runtime).
_INSTALL_CELL = '''\
import importlib.util
import os
import subprocess
import sys
from glob import glob
from importlib.metadata import PackageNotFoundError, version

PIX2PIX_REPO = os.environ.get("PIX2PIX_REPO", "{repository}")  # GitHub owner/name: your fork here
PIX2PIX_BRANCH = os.environ.get("PIX2PIX_BRANCH", "{branch}")

if "google.colab" in sys.modules and importlib.util.find_spec("pix2pix_tf") is None:
    # Colab, once per runtime (TensorFlow and Keras are preinstalled). A wheel you uploaded wins.
    wheels = sorted(glob("/content/pix2pix_tf-*.whl"), key=os.path.getmtime)
    source = wheels[-1] if wheels else f"git+https://github.com/{{PIX2PIX_REPO}}@{{PIX2PIX_BRANCH}}"
    print("installing pix2pix-tf from", source)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], capture_output=True, text=True)
    importlib.invalidate_caches()
    if pip.returncode != 0:
        reason = (pip.stderr.strip().splitlines() or ["pip failed"])[-1]
        print(f"pix2pix-tf could not be installed from {{source}} ({{reason}}): upload a wheel built with "
              "`python -m build` (dist/pix2pix_tf-*.whl) to /content, or set os.environ['PIX2PIX_REPO'] = "
              "'your-name/your-fork', then run this cell again.")


def _installed(*distributions):
    for name in distributions:
        try:
            return version(name)
        except PackageNotFoundError:
            pass
    return "not installed"


print(f"pix2pix-tf {{_installed('pix2pix-tf')}} | TensorFlow {{_installed('tensorflow', 'tensorflow-cpu', 'tf-nightly')}}"
      f" | Keras {{_installed('keras', 'keras-nightly')}} | Python {{sys.version.split()[0]}}"
      f" | Colab: {{'google.colab' in sys.modules}}")'''


def install_cell_source(repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """The source of every notebook's install cell, with ``repository`` and ``branch`` in it.

    In Colab, unless ``pix2pix_tf`` is importable already, it pip-installs the newest
    ``/content/pix2pix_tf-*.whl`` if one was uploaded, else
    ``git+https://github.com/$PIX2PIX_REPO@$PIX2PIX_BRANCH`` (defaults: ``repository`` and
    ``branch``); a failed install prints one line saying what to do. Everywhere it then
    prints the versions of pix2pix-tf, TensorFlow, Keras and Python; off Colab that is all
    it does.
    """
    install_spec(repository, branch)  # checks the form of repository
    return _INSTALL_CELL.format(repository=repository, branch=branch)


# What TensorFlow (and CUDA) write to file descriptor 2 while TensorFlow loads, before its log
# level applies: absl's "All log messages before absl::InitializeLog() ..." and lines in its
# format ("I0000 00:00:1733.12 123 port.cc:153] oneDNN custom operations are on ...",
# "cudart_stub.cc ... Could not find cuda drivers", Colab's "cuda_dnn.cc ... Unable to register
# cuDNN factory"). Fatal lines (F...) are not among them.
TF_STARTUP_LINES = (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"[IWE]\d{4} +[\d:.]+ +\d+ [\w./-]+:\d+\] .*",
)


def import_tensorflow_quietly(log_level: int = 3):
    """Import TensorFlow and Keras with TensorFlow's C++ start-up lines held back; return ``tf``.

    A notebook shows what is written to file descriptor 2 as cell output, and TensorFlow writes
    its start-up lines (oneDNN, CUDA drivers and plugins) there while it loads, before
    ``TF_CPP_MIN_LOG_LEVEL`` applies. This imports TensorFlow and Keras and lists the devices
    (where CUDA starts) with fd 2 held back: lines of :data:`TF_STARTUP_LINES` are dropped, any
    other line is shown. Call it before anything imports TensorFlow (a second call, or a call
    after, changes nothing).

    Args:
        log_level: ``TF_CPP_MIN_LOG_LEVEL`` for the C++ log lines of the later cells, set
            before the import. 3 (the default) hides even C++ error lines such as grappler's
            harmless "remapper failed" during training: an error that matters still reaches
            the notebook as a Python exception. 0 shows every line.
    """
    import os
    import re

    from ..host.native_stderr import native_stderr_filtered

    os.environ["TF_CPP_MIN_LOG_LEVEL"] = str(int(log_level))
    with native_stderr_filtered([re.compile(p) for p in TF_STARTUP_LINES]):
        import keras  # noqa: F401  (Keras loads TensorFlow's libraries too)
        import tensorflow as tf

        tf.config.list_physical_devices()
    return tf


def report_versions() -> str:
    """One line with the versions in use: pix2pix-tf, TensorFlow, Keras, Python, and Colab or not.

    Example:
        >>> report_versions()  # doctest: +SKIP
        'pix2pix-tf 0.1.0 | TensorFlow 2.21.0 | Keras 3.15.0 | Python 3.11.9 | Colab: False'
    """
    import keras
    import tensorflow as tf

    from .. import __version__

    return (f"pix2pix-tf {__version__} | TensorFlow {tf.__version__} | Keras {keras.__version__}"
            f" | Python {sys.version.split()[0]} | Colab: {in_colab()}")


def describe_device(gpus: list | None = None) -> str:
    """The GPU(s) TensorFlow sees, or a paragraph saying there is none and how to get one.

    Args:
        gpus: the devices to describe (default: ``tf.config.list_physical_devices("GPU")``).

    Returns:
        ``"GPU: Tesla T4 (/physical_device:GPU:0)"`` (one line per GPU), or the no-GPU note
        naming Colab's menu: Runtime > Change runtime type > T4 GPU.
    """
    import tensorflow as tf

    if gpus is None:
        gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return ("No GPU: TensorFlow sees only the CPU, so training works but is slow (a 256x256 step "
                "takes well over ten times as long as on a GPU; quick mode, PIX2PIX_QUICK=1, is made "
                f"for a CPU). In Colab, switch the runtime: {SWITCH_RUNTIME} > Save, then run the "
                "notebook again from the top (the new runtime starts empty, so the install cell runs "
                "again). Colab may refuse a GPU when its free quota is used up; elsewhere, TensorFlow "
                "needs an NVIDIA driver and a CUDA build (pip install \"tensorflow[and-cuda]\", Linux).")
    lines = []
    for gpu in gpus:
        try:
            model = tf.config.experimental.get_device_details(gpu).get("device_name", "")
        except (ValueError, TypeError, AttributeError, tf.errors.OpError):
            model = ""
        name = getattr(gpu, "name", str(gpu))
        lines.append(f"GPU: {model} ({name})" if model else f"GPU: {name}")
    return "\n".join(lines)


def runs_root(use_drive: bool = False, local: str | Path = "runs", drive_folder: str = "pix2pix-tf/runs",
              mount_point: str | Path = DRIVE_MOUNT) -> Path:
    """The folder that holds the course's run folders.

    A Colab runtime is thrown away when the session ends, and each badge opens its own
    runtime: a run trained by notebook 04 in ``runs/`` is gone for 05 and 06. On Google
    Drive it survives.

    Args:
        use_drive: in Colab, mount Google Drive (Colab asks for access once) and keep the
            runs there. Off Colab there is no Drive to mount: one line says so and
            ``local`` is used.
        local: the folder used without Drive (relative to the working directory).
        drive_folder: the folder under "My Drive".
        mount_point: where Drive is mounted.

    Returns:
        ``Path(local)``, or ``mount_point/MyDrive/drive_folder`` (created) with Drive.
    """
    if not use_drive:
        return Path(local)
    try:
        from google.colab import drive
    except ImportError:
        print(f"USE_DRIVE: Google Drive can only be mounted in Colab; the runs go to the local folder {local}/")
        return Path(local)
    drive.mount(str(mount_point))
    root = Path(mount_point) / "MyDrive" / drive_folder
    root.mkdir(parents=True, exist_ok=True)
    return root


def has_trained_run(run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds a run that :func:`pix2pix_tf.run.loading.load_run` can load:
    a ``config.json`` and at least one checkpoint (``checkpoints/ckpt-*.index``)."""
    # imported here: notebooks/tools/normalize.py loads this file by path, outside the package
    from ..run.folder import CHECKPOINTS, CONFIG

    run_dir = Path(run_dir)
    return (run_dir / CONFIG).is_file() and any((run_dir / CHECKPOINTS).glob("ckpt-*.index"))
