"""Where an exported web page gets LiteRT.js: a copy of the local npm files, or the pinned CDN.

``--runtime auto`` (the default) copies a local ``@litertjs/core`` when one is found
(``--litert-dir``, or ``./node_modules/@litertjs/core`` at the pinned major version), else the
page loads :data:`LITERT_VERSION` from jsDelivr with Subresource Integrity: the import map's
``integrity`` entries pin the sha384 of the two ES modules it imports (:data:`CDN_INTEGRITY`),
so a browser refuses them if one byte differs. The wasm loader script and the ``.wasm`` file
are fetched by LiteRT.js itself and cannot carry such a hash: for a page that trusts no CDN,
``--runtime copy``. :func:`runtime_line` is the one line the export prints about it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path

from ..run.export import ExportError

LITERT_PACKAGE = "@litertjs/core"
LITERT_VERSION = "2.5.3"  # pinned: the API below was read from this version's dist/index.d.ts
CDN_BASE = "https://cdn.jsdelivr.net/npm"
CDN_HOST = "cdn.jsdelivr.net"
RUNTIMES = ("auto", "copy", "cdn")
# The ES modules the page imports from the CDN at LITERT_VERSION (package -> file in it) and
# their Subresource Integrity (the import map's "integrity"): sha384 of the files in the npm
# tarballs @litertjs/core-2.5.3.tgz and @litertjs/wasm-utils-2.5.3.tgz (registry sha512
# PlGmbMOq... and 4fJiw6tB...), which jsDelivr's /npm/ paths serve byte for byte. Changing
# LITERT_VERSION means recomputing them: tests/test_web_export.py does, from a local npm copy.
CDN_MODULES = {LITERT_PACKAGE: "dist/index.js", "@litertjs/wasm-utils": "dist/index.js"}
CDN_INTEGRITY = {
    LITERT_PACKAGE: "sha384-MapSVJ/DPwvaWpp7q+Bid9O3uY1oB0KOU1QRMP+Mm5zdz5oMme/BUyX6dVAMWnPg",
    "@litertjs/wasm-utils": "sha384-HIPwlWsctS5BRqrnvJKDVJ8SvqKB0QmiImdr6+hpP7+8UqeMJX/qrBkdfKQV2WZ/",
}

INDEX = "index.html"  # OUT/index.html: the page (pix2pix_tf.web.page writes it)
RUNTIME_DIR = "litert"  # OUT/litert: the copied runtime files (--runtime copy)
# what --runtime copy takes from the npm packages: OUT/litert/<key> <- (package, path in it).
# loadLiteRt(dir) loads litert_wasm_internal.js (relaxed SIMD) or, in browsers without relaxed
# SIMD, litert_wasm_compat_internal.js; the threaded and JSPI builds (options we do not pass) stay out.
RUNTIME_FILES = {
    "core/index.js": ("core", "dist/index.js"),
    "core/package.json": ("core", "package.json"),
    "wasm-utils/index.js": ("wasm-utils", "dist/index.js"),
    "wasm/litert_wasm_internal.js": ("core", "wasm/litert_wasm_internal.js"),
    "wasm/litert_wasm_internal.wasm": ("core", "wasm/litert_wasm_internal.wasm"),
    "wasm/litert_wasm_compat_internal.js": ("core", "wasm/litert_wasm_compat_internal.js"),
    "wasm/litert_wasm_compat_internal.wasm": ("core", "wasm/litert_wasm_compat_internal.wasm"),
}
NPM_HINT = f"npm install {LITERT_PACKAGE}@{LITERT_VERSION}"


@dataclasses.dataclass(frozen=True)
class WebRuntime:
    """Where the page gets LiteRT.js: copied files (``core`` / ``wasm_utils`` package folders) or a CDN."""

    source: str  # "copy" or "cdn"
    version: str
    core: Path | None = None
    wasm_utils: Path | None = None
    wasm_utils_version: str | None = None
    why: str = ""  # auto chose the CDN although a local copy was there: why not that copy

    def cdn_urls(self) -> dict[str, str]:
        """package -> the URL of the ES module the page imports from the CDN."""
        return {package: f"{CDN_BASE}/{package}@{self.version}/{rel}" for package, rel in CDN_MODULES.items()}

    def import_map(self) -> dict:
        """The page's import map: the bare specifiers LiteRT.js' modules import, to URLs; on the
        CDN at :data:`LITERT_VERSION`, with their sha384 integrity (:data:`CDN_INTEGRITY`)."""
        if self.source == "copy":
            return {"imports": {LITERT_PACKAGE: f"./{RUNTIME_DIR}/core/index.js",
                                "@litertjs/wasm-utils": f"./{RUNTIME_DIR}/wasm-utils/index.js"}}
        urls = self.cdn_urls()
        imports = {"imports": urls}
        if self.version == LITERT_VERSION:  # the hashes are of the pinned version's files
            imports["integrity"] = {urls[package]: CDN_INTEGRITY[package] for package in urls}
        return imports

    def wasm_dir(self) -> str:
        """What the page passes to ``loadLiteRt``: the folder of the wasm builds (relative or URL)."""
        if self.source == "copy":
            return f"{RUNTIME_DIR}/wasm/"
        return f"{CDN_BASE}/{LITERT_PACKAGE}@{self.version}/wasm/"


def _package_version(folder: Path, name: str) -> str | None:
    """The version in ``folder/package.json`` when that file names package ``name``."""
    try:
        info = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(info, dict) or info.get("name") != name or not isinstance(info.get("version"), str):
        return None
    return info["version"]


def find_litert(litert_dir: str | Path | None = None) -> Path | None:
    """The ``@litertjs/core`` package folder: ``litert_dir`` itself, or its ``node_modules``
    (``litert_dir`` may be an npm prefix or a node_modules folder); without it,
    ``./node_modules/@litertjs/core``. None when there is none."""
    if litert_dir is None:
        candidates = [Path.cwd() / "node_modules" / LITERT_PACKAGE]
    else:
        d = Path(litert_dir)
        candidates = [d, d / LITERT_PACKAGE, d / "node_modules" / LITERT_PACKAGE]
    for c in candidates:
        if c.is_dir() and _package_version(c, LITERT_PACKAGE) is not None:
            return c
    return None


def resolve_runtime(runtime: str = "auto", litert_dir: str | Path | None = None) -> WebRuntime:
    """Decide where the page's LiteRT.js comes from, checking local files (nothing is written).

    Args:
        runtime: "copy" (local npm files, must exist), "cdn" (jsDelivr at :data:`LITERT_VERSION`,
            integrity-checked) or "auto": copy when ``litert_dir`` is given (it must then hold
            the files) or ``./node_modules/@litertjs/core`` is a complete copy of the pinned major
            version; else the CDN (:attr:`WebRuntime.why` says why a local copy was passed over).
        litert_dir: the ``@litertjs/core`` folder, or an npm prefix / node_modules holding it.

    Raises:
        ExportError: one line naming the flag and what to do.

    Example:
        >>> resolve_runtime("auto", None).source  # doctest: +SKIP
        'cdn'
    """
    if runtime not in RUNTIMES:
        raise ExportError(f"--runtime {runtime}: choose one of {', '.join(RUNTIMES)}")
    if runtime == "cdn":
        if litert_dir is not None:
            raise ExportError("--litert-dir: only used with --runtime copy (or auto); "
                              "--runtime cdn copies no files")
        return WebRuntime("cdn", LITERT_VERSION)
    if runtime == "auto" and litert_dir is None:
        if find_litert(None) is None:
            return WebRuntime("cdn", LITERT_VERSION)
        try:
            return _local_runtime(None)
        except ExportError as e:  # a broken or other-version ./node_modules: not ours to refuse over
            return WebRuntime("cdn", LITERT_VERSION, why="not copied: " + str(e).split(";")[0])
    return _local_runtime(litert_dir)


def _local_runtime(litert_dir: str | Path | None) -> WebRuntime:
    """The copied runtime from ``litert_dir`` (else ./node_modules); ExportError when incomplete."""
    core = find_litert(litert_dir)
    where = f"--litert-dir {litert_dir}" if litert_dir is not None else "./node_modules/@litertjs/core"
    if core is None:
        how = (f"{NPM_HINT} and pass --litert-dir node_modules/{LITERT_PACKAGE}, "
               f"or leave --runtime out (the page then loads LiteRT.js {LITERT_VERSION} from "
               f"{CDN_HOST}, integrity-checked)")
        if litert_dir is not None and not Path(litert_dir).exists():
            raise ExportError(f"--litert-dir {litert_dir}: does not exist; {how}")
        raise ExportError(f"{where}: no LiteRT.js runtime files ({LITERT_PACKAGE} not found); {how}")
    version = _package_version(core, LITERT_PACKAGE)
    if version.split(".")[0] != LITERT_VERSION.split(".")[0]:
        raise ExportError(f"{where}: LiteRT.js {version} found in {core}; the page is written for "
                          f"{LITERT_VERSION.split('.')[0]}.x ({NPM_HINT})")
    utils = next((d for d in (core / "node_modules" / "@litertjs" / "wasm-utils",
                              core.parent / "wasm-utils")
                  if d.is_dir() and _package_version(d, "@litertjs/wasm-utils")), None)
    if utils is None:
        raise ExportError(f"{where}: @litertjs/wasm-utils (a dependency of {LITERT_PACKAGE}) is "
                          f"missing beside {core}; reinstall with {NPM_HINT}")
    packages = {"core": core, "wasm-utils": utils}
    for package, rel in RUNTIME_FILES.values():
        f = packages[package] / rel
        if not f.is_file():
            raise ExportError(f"{where}: LiteRT.js runtime file {f} is missing; reinstall with {NPM_HINT}")
    return WebRuntime("copy", version, core, utils, _package_version(utils, "@litertjs/wasm-utils"))


def runtime_line(out: str | Path, runtime: WebRuntime) -> str:
    """One line: where the page at ``out`` loads LiteRT.js from, and how to get the other way.

    Example:
        >>> runtime_line("site", WebRuntime("cdn", LITERT_VERSION))
        'site/index.html loads LiteRT.js 2.5.3 from cdn.jsdelivr.net (pinned, integrity-checked); for an offline page: npm install @litertjs/core@2.5.3 and --runtime copy'
    """
    page = Path(out) / INDEX
    if runtime.source == "copy":
        return (f"{page} loads LiteRT.js {runtime.version} from its own copy in {Path(out) / RUNTIME_DIR} "
                f"(works offline; copied from {runtime.core}); to load it from {CDN_HOST} "
                "instead: --runtime cdn")
    why = f"; {runtime.why}" if runtime.why else ""
    return (f"{page} loads LiteRT.js {runtime.version} from {CDN_HOST} (pinned, integrity-checked{why}); "
            f"for an offline page: {NPM_HINT} and --runtime copy")


def sri_sha384(path: str | Path) -> str:
    """The Subresource Integrity string of a file: ``sha384-`` and its base64 digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(Path(path).read_bytes()).digest()).decode("ascii")
