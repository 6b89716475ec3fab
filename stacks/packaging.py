"""Builds the Lambda assets as Lambda runs them: `make layers`, or app.py before every synth.

Under build/lambda/ (or another directory), three assets, each with the bytecode of the runtime's
own Python version, and a stamp beside each saying what it was built from:

- `functions/`: a copy of functions/ (the code asset; Lambda's /var/task);
- `plutomi-layer/python/plutomi`: the plutomi package (/opt/python/plutomi);
- `dependencies-layer/python`: layers/dependencies/requirements.txt, installed by pip for the target's
  Python and platform (manylinux aarch64 wheels for Lambda, whatever this machine is).

A stamp is written only after its asset is complete and removed before a rebuild starts, so a
stale or half-finished build is never taken for a current one (`stale_assets`). A current asset is
not rebuilt, so running this again is cheap.

    make layers   (= .venv/bin/python -c 'from stacks.packaging import main; main()' [--out DIR])

(Not `python -m stacks.packaging`: the stacks package imports this module first.)
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_SOURCE = ROOT / "functions"
PLUTOMI_SOURCE = ROOT / "layers" / "plutomi" / "python"
REQUIREMENTS = ROOT / "layers" / "dependencies" / "requirements.txt"
LAMBDA_BUILD_DIR = ROOT / "build" / "lambda"

FUNCTIONS_ASSET = "functions"
PLUTOMI_LAYER_ASSET = "plutomi-layer"
DEPENDENCIES_LAYER_ASSET = "dependencies-layer"
ASSETS = (FUNCTIONS_ASSET, PLUTOMI_LAYER_ASSET, DEPENDENCIES_LAYER_ASSET)

PYTHON_ENV = "PLUTOMI_LAMBDA_PYTHON"
# Where each asset's files sit when Lambda runs them: the bytecode names these paths (tracebacks).
RUNTIME_PATHS = {
    FUNCTIONS_ASSET: "/var/task",
    PLUTOMI_LAYER_ASSET: "/opt",
    DEPENDENCIES_LAYER_ASSET: "/opt",
}
# Lambda's architectures as pip names their wheels' platforms.
PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
_SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


class LambdaPythonNotFound(RuntimeError):
    pass


class BuildFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Target:
    """What the assets are built for: a Python version (`3.13`) and a pip platform tag
    (`manylinux2014_aarch64`), or platform None for the interpreter's own (the tests' host build)."""

    python_version: str
    platform: str | None

    @property
    def platform_name(self) -> str:
        return self.platform or "host"


@dataclass(frozen=True)
class Stamp:
    asset: str
    python_version: str
    platform: str
    sources_sha256: str


def _source_files(root: Path) -> Iterator[Path]:
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(directory) / name


def tree_sha256(root: Path) -> str:
    """A hash of the relative paths and contents of the files under `root` (caches left out)."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def expected_stamps(target: Target) -> dict[str, Stamp]:
    """The stamp each asset must carry to be current for `target` and today's sources."""
    sources = {
        FUNCTIONS_ASSET: tree_sha256(FUNCTIONS_SOURCE),
        PLUTOMI_LAYER_ASSET: tree_sha256(PLUTOMI_SOURCE),
        DEPENDENCIES_LAYER_ASSET: hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest(),
    }
    return {
        asset: Stamp(asset, target.python_version, target.platform_name, sources[asset]) for asset in ASSETS
    }


def stamp_path(build_dir: Path, asset: str) -> Path:
    return build_dir / f"{asset}.stamp.json"


def read_stamp(build_dir: Path, asset: str) -> Stamp | None:
    try:
        return Stamp(**json.loads(stamp_path(build_dir, asset).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_stamp(build_dir: Path, stamp: Stamp) -> None:
    stamp_path(build_dir, stamp.asset).write_text(json.dumps(asdict(stamp), indent=2) + "\n")


def stale_assets(build_dir: Path, target: Target) -> dict[str, str]:
    """Asset -> why it is not current (missing, half built, or built from other sources or for
    another Python or platform); empty when all three can be deployed as they are."""
    reasons: dict[str, str] = {}
    for asset, expected in expected_stamps(target).items():
        found = read_stamp(build_dir, asset)
        if not (build_dir / asset).is_dir() or found is None:
            reasons[asset] = "not built (or a build did not finish)"
        elif found != expected:
            changed = [
                field
                for field in ("python_version", "platform", "sources_sha256")
                if getattr(found, field) != getattr(expected, field)
            ]
            reasons[asset] = f"stale ({', '.join(changed)} changed)"
    return reasons


def python_version_of(command: list[str]) -> str | None:
    """The `major.minor` the interpreter reports, or None when it does not run (a pyenv shim for a
    version that is not selected exits non-zero)."""
    try:
        finished = subprocess.run(
            [*command, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return finished.stdout.strip() if finished.returncode == 0 else None


def find_python(version: str) -> str:
    """The interpreter that compiles the bytecode: $PLUTOMI_LAMBDA_PYTHON, else a `pythonX.Y` on the
    PATH that actually runs, else pyenv's ~/.pyenv/versions/X.Y*/bin/pythonX.Y."""
    configured = os.environ.get(PYTHON_ENV)
    if configured:
        found = python_version_of([configured])
        if found != version:
            raise LambdaPythonNotFound(
                f"{PYTHON_ENV}={configured} "
                + (f"is Python {found}" if found else "does not run")
                + f"; the functions run Python {version}: point it at a python{version}."
            )
        return configured
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    for candidate in filter(None, candidates):
        if python_version_of([candidate]) == version:
            return candidate
    raise LambdaPythonNotFound(
        f"No Python {version} found (the Lambda runtime's version; its bytecode must come from it): "
        f"install python{version} (e.g. `pyenv install {version}`, or your OS's python{version} package) "
        f"or set {PYTHON_ENV} to its path."
    )


def _copy_tree(source: Path, destination: Path) -> None:
    shutil.copytree(
        source,
        destination,
        ignore=lambda _, names: [n for n in names if n in _SKIPPED_DIRS or n.endswith((".pyc", ".pyo"))],
    )


def _run(command: list[str]) -> None:
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise BuildFailed(f"{' '.join(command)} failed:\n{finished.stdout[-2000:]}{finished.stderr[-2000:]}")


def _compile(python: str, tree: Path, runtime_path: str) -> None:
    # unchecked-hash: the default (timestamp) bytecode holds the source's mtime, which CDK's asset
    # zip does not keep, so Lambda would find every .pyc out of date and recompile on each cold
    # start (/opt is read-only: nothing it compiles is kept). checked-hash would re-read and hash
    # every source on import. An asset never changes once deployed, so nothing needs checking.
    mode = ["--invalidation-mode", "unchecked-hash"]
    _run([python, "-m", "compileall", "-q", "-j", "0", *mode, "-s", str(tree), "-p", runtime_path, str(tree)])


def _build_functions(python: str, target: Target, destination: Path) -> None:
    _copy_tree(FUNCTIONS_SOURCE, destination)


def _build_plutomi_layer(python: str, target: Target, destination: Path) -> None:
    _copy_tree(PLUTOMI_SOURCE, destination / "python")


def _build_dependencies_layer(python: str, target: Target, destination: Path) -> None:
    platform = (
        ["--platform", target.platform, "--python-version", target.python_version, "--implementation", "cp"]
        if target.platform
        else []
    )
    options = ["--disable-pip-version-check", "--progress-bar", "off", "-q", "--no-compile"]
    into = ["--target", str(destination / "python"), "-r", str(REQUIREMENTS)]
    _run([python, "-m", "pip", "install", *options, "--only-binary=:all:", *platform, *into])
    # Console scripts with this machine's interpreter in their first line: nothing on Lambda runs them.
    shutil.rmtree(destination / "python" / "bin", ignore_errors=True)


_BUILDERS: dict[str, Callable[[str, Target, Path], None]] = {
    FUNCTIONS_ASSET: _build_functions,
    PLUTOMI_LAYER_ASSET: _build_plutomi_layer,
    DEPENDENCIES_LAYER_ASSET: _build_dependencies_layer,
}


def size_of(tree: Path) -> int:
    return sum(path.stat().st_size for path in tree.rglob("*") if path.is_file())


def ensure_built(
    build_dir: Path,
    target: Target,
    *,
    python: str | None = None,
    progress: Callable[[str], None] = print,
) -> Path:
    """Builds whichever assets are not current for `target` into `build_dir`, with bytecode compiled
    by `python` (default: found by `find_python`)."""
    stale = stale_assets(build_dir, target)
    if not stale:
        return build_dir
    python = python or find_python(target.python_version)
    build_dir.mkdir(parents=True, exist_ok=True)
    for asset, stamp in expected_stamps(target).items():
        if asset not in stale:
            continue
        started = time.monotonic()
        progress(
            f"building {asset} for Python {target.python_version} ({target.platform_name}): {stale[asset]}"
        )
        stamp_path(build_dir, asset).unlink(missing_ok=True)
        destination = build_dir / asset
        shutil.rmtree(destination, ignore_errors=True)
        _BUILDERS[asset](python, target, destination)
        _compile(python, destination, RUNTIME_PATHS[asset])
        write_stamp(build_dir, stamp)
        progress(
            f"  {destination.relative_to(build_dir.parent)}: {size_of(destination) / 1e6:.1f} MB "
            f"in {time.monotonic() - started:.1f} s"
        )
    return build_dir


def main() -> None:
    # The functions' runtime as stacks/base.py declares it (imported here: the stacks import this).
    from stacks.base import LAMBDA_TARGET as target

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=LAMBDA_BUILD_DIR, help="the build directory")
    args = parser.parse_args()
    try:
        ensure_built(args.out, target, progress=lambda line: print(line, flush=True))
    except (LambdaPythonNotFound, BuildFailed) as error:
        sys.exit(f"error: {error}")
    print(
        f"Lambda assets in {args.out} are current for Python {target.python_version} ({target.platform_name})"
    )


if __name__ == "__main__":
    main()
