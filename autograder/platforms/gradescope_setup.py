"""Gradescope's image build without the network: the target, its wheels and ``setup.sh``.

The builder (:mod:`autograder.platforms.gradescope`, ``--target``) fetches, with ``pip download
--only-binary=:all:`` for the target's platform and Python, the pinned wheels of what
``run_autograder`` imports (NumPy, jsonschema and their dependencies; pytest is not
needed to grade) plus pip's own wheel, and puts them in the zip's ``wheels/`` with
``wheels/SHA256SUMS`` and ``requirements-lock.txt`` (every wheel, ``name==version
--hash=sha256:...``, nothing else).  ``setup.sh`` then needs no package index: it
checks every wheel's sha256, makes a virtual environment with the image's own released
``python3`` (never a pre-release package such as Ubuntu 22.04's ``python3.11``,
3.11.0~rc1) and installs the lock with ``pip install --no-index --require-hashes``,
pip run from its checked wheel; a wrong Python stops the image build with a message
instead of grading every student 0.

Targets are Gradescope's Ubuntu base images; the pins are versions the suite was run
with on that Python (keep them within ``requirements.txt``).
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import GraderError

WHEELS = "wheels"
LOCK = "requirements-lock.txt"
SUMS = "SHA256SUMS"
COMMON_PINS = ("jsonschema==4.26.0", "jsonschema-specifications==2025.9.1", "referencing==0.37.0",
               "attrs==26.1.0", "typing-extensions==4.16.0", "pip==26.3")


@dataclass(frozen=True)
class Target:
    """A Gradescope base image: its released ``python3`` (X.Y), glibc (for the manylinux tags) and pins."""
    name: str
    python: str
    glibc: tuple[int, int]
    pins: tuple[str, ...]

    @property
    def cp(self) -> str:
        return "cp" + self.python.replace(".", "")

    def platforms(self) -> list[str]:
        return ["manylinux2014_x86_64", *(f"manylinux_2_{minor}_x86_64" for minor in range(17, self.glibc[1] + 1))]


TARGETS: dict[str, Target] = {target.name: target for target in (
    Target("ubuntu-22.04", "3.10", (2, 35), ("numpy==2.2.6", "rpds-py==0.30.0", *COMMON_PINS)),
    Target("ubuntu-24.04", "3.12", (2, 39), ("numpy==2.4.6", "rpds-py==2026.9.1", *COMMON_PINS)),
)}
DEFAULT_TARGET = "ubuntu-22.04"  # Gradescope's default base image (its python3 is 3.10.12)
OFFLINE_SIGNS = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
                 "Name or service not known", "ConnectTimeout", "ReadTimeout", "Network is unreachable",
                 "ProxyError", "Connection refused", "No route to host", "Max retries exceeded")


class WheelError(GraderError):
    """The wheels cannot be fetched or do not fit the target; ``offline``: pip could not reach the index."""

    def __init__(self, message: str, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_wheel(filename: str) -> tuple[str, str, list[tuple[str, str, str]]] | None:
    """(normalized name, version, [(python, abi, platform) tags]) of a wheel file name, or None."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return None
    name, version, pythons, abis, platforms = parts[0], parts[1], parts[-3], parts[-2], parts[-1]
    tags = [(p, a, s) for p in pythons.split(".") for a in abis.split(".") for s in platforms.split(".")]
    return normalized(name), version, tags


def fits(target: Target, tags: Sequence[tuple[str, str, str]]) -> bool:
    """Whether a wheel with these tags installs on the target's CPython (x86_64, its glibc)."""
    major, minor = (int(x) for x in target.python.split("."))
    platforms = {"any", "manylinux1_x86_64", "manylinux2010_x86_64", *target.platforms()}
    for python, abi, platform in tags:
        if platform not in platforms:
            continue
        if python in (target.cp, f"py{major}", f"py{major}{minor}") and abi in ("none", target.cp):
            return True
        found = re.fullmatch(rf"cp{major}(\d+)", python)
        if found and abi == "abi3" and int(found.group(1)) <= minor:
            return True
    return False


def pinned(pin: str) -> tuple[str, str]:
    name, _, version = pin.partition("==")
    return normalized(name), version


def chosen_wheels(target: Target, house: Path) -> dict[str, Path]:
    """{pin: the wheel in ``house`` that satisfies it on the target} for the pins found there."""
    found: dict[str, Path] = {}
    for path in sorted(house.glob("*.whl")):
        parsed = parse_wheel(path.name)
        if parsed is None or not fits(target, parsed[2]):
            continue
        for pin in target.pins:
            if pinned(pin) == parsed[:2]:
                found.setdefault(pin, path)
    return found


def pip_command(target: Target, *arguments: str) -> list[str]:
    command = [sys.executable, "-m", "pip", *arguments, "--disable-pip-version-check", "--no-input",
               "--only-binary=:all:", "--implementation", "cp", "--python-version", target.python,
               "--abi", target.cp, "--abi", "abi3", "--abi", "none"]
    for platform in target.platforms():
        command += ["--platform", platform]
    return command


def run_pip(command: Sequence[str], what: str) -> None:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise WheelError(f"{what}: {error}", offline=isinstance(error, subprocess.TimeoutExpired)) from None
    if completed.returncode != 0:
        output = completed.stderr + completed.stdout
        lines = [line for line in output.splitlines() if line.strip()]
        raise WheelError(f"{what} failed: " + " / ".join(lines[-4:]),
                         offline=any(sign in output for sign in OFFLINE_SIGNS))


def fetch(target: Target, house: Path) -> dict[str, Path]:
    """The target's wheels in ``house`` (a folder kept between builds, or a temporary one): each pin
    downloaded by ``pip download`` unless a fitting wheel is already there."""
    house.mkdir(parents=True, exist_ok=True)
    missing = [pin for pin in target.pins if pin not in chosen_wheels(target, house)]
    if missing:
        run_pip([*pip_command(target, "download", "--no-deps", "--retries", "2", "--timeout", "30",
                              "--progress-bar", "off", "--dest", str(house)), *missing],
                f"pip download for {target.name} (Python {target.python})")
    wheels = chosen_wheels(target, house)
    still = [pin for pin in target.pins if pin not in wheels]
    if still:
        raise WheelError(f"no wheel of {', '.join(still)} fits {target.name} (CPython {target.python}, "
                         f"glibc {target.glibc[0]}.{target.glibc[1]}, x86_64)")
    return wheels


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lock_text(target: Target, wheels: Mapping[str, bytes]) -> str:
    """requirements-lock.txt: one ``name==version --hash=sha256:...`` line per wheel (by file name)."""
    lines = [f"# {target.name}: CPython {target.python}, x86_64. Written by python -m autograder.platforms.gradescope;",
             "# setup.sh installs exactly these wheels (wheels/) with pip install --no-index --require-hashes."]
    for filename in sorted(wheels):
        name, version, _ = parse_wheel(filename) or ("", "", [])
        lines.append(f"{name}=={version} --hash=sha256:{digest(wheels[filename])}")
    return "\n".join(lines) + "\n"


def sums_text(wheels: Mapping[str, bytes]) -> str:
    """wheels/SHA256SUMS, as ``sha256sum --check`` reads it."""
    return "".join(f"{digest(wheels[filename])}  {filename}\n" for filename in sorted(wheels))


def check_lock(target: Target, house: Path, lock: str) -> None:
    """Resolve the lock offline for the target (``pip install --dry-run --no-index``): every dependency
    of every wheel must be in it, pinned and hashed."""
    with tempfile.TemporaryDirectory(prefix="gradescope-lock-") as scratch:
        lock_path = Path(scratch) / LOCK
        lock_path.write_text(lock)
        run_pip([*pip_command(target, "install", "--dry-run", "--ignore-installed", "--no-index", "--find-links",
                              str(house), "--require-hashes", "--target", str(Path(scratch) / "target")),
                 "-r", str(lock_path)], f"the lock for {target.name} does not resolve offline (a dependency "
                                        f"missing from the pins in autograder/platforms/gradescope_setup.py?)")


def wheel_files(target: Target, wheelhouse: Path | None = None) -> dict[str, bytes]:
    """{path inside the zip: bytes} of the wheels, ``wheels/SHA256SUMS`` and ``requirements-lock.txt``.

    ``wheelhouse``: keep the downloads in ``wheelhouse/<target>/`` (a later build with every wheel
    there needs no network); default a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="gradescope-wheels-") as scratch:
        house = Path(wheelhouse) / target.name if wheelhouse else Path(scratch)
        chosen = fetch(target, house)
        wheels = {path.name: path.read_bytes() for path in chosen.values()}
        lock = lock_text(target, wheels)
        check_lock(target, house, lock)
    files = {f"{WHEELS}/{filename}": data for filename, data in wheels.items()}
    files[f"{WHEELS}/{SUMS}"] = sums_text(wheels).encode()
    files[LOCK] = lock.encode()
    return files


SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image: {target}, Python {python}.
# Nothing is downloaded: the Python packages are the wheels in source/wheels/, fetched when this zip was
# built (python -m autograder.platforms.gradescope --target {target}) and checked here against their sha256.
# AUTOGRADER_ROOT (default /autograder) and AUTOGRADER_SETUP_PYTHON (default python3) are for trying it
# outside Gradescope.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="$ROOT/source"
PYTHON="${{AUTOGRADER_SETUP_PYTHON:-python3}}"
fail() {{ echo "setup.sh: $*" >&2; exit 1; }}
apt_install() {{  # only when the image lacks what the distribution provides; needs its mirror
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$@" || {{ apt-get update && apt-get install -y --no-install-recommends "$@"; }}
}}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup.sh: the image has no $PYTHON: installing the distribution's python3" >&2
  apt_install python3
fi
HAVE=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2], sys.version_info.releaselevel)')
[ "$HAVE" = "{python} final" ] || fail "this zip is built for {target} (a released Python {python}), but $PYTHON \\
is Python $HAVE: build it again with the --target of the assignment's base image (python -m autograder.platforms.gradescope --help)"
cd "$SOURCE/{wheels}"
sha256sum --check --strict --quiet {sums} || fail "a wheel does not match {wheels}/{sums}: the zip is damaged"
rm -rf "$ROOT/venv"
if ! "$PYTHON" -m venv --without-pip "$ROOT/venv"; then
  apt_install python3-venv && "$PYTHON" -m venv --without-pip "$ROOT/venv"
fi
"$ROOT/venv/bin/python" "$SOURCE/{wheels}/{pip_wheel}/pip" install --no-index --find-links "$SOURCE/{wheels}" \\
  --require-hashes --no-cache-dir --disable-pip-version-check --no-input -r "$SOURCE/{lock}"
cd "$SOURCE"
"$ROOT/venv/bin/python" -m autograder.platforms.gradescope check
"""


def setup_sh(target: Target, files: Mapping[str, bytes]) -> str:
    pip_wheel = next(name.removeprefix(f"{WHEELS}/") for name in sorted(files)
                     if name.startswith(f"{WHEELS}/pip-") and name.endswith(".whl"))
    return SETUP_SH.format(target=target.name, python=target.python, wheels=WHEELS, sums=SUMS, lock=LOCK,
                           pip_wheel=pip_wheel)


__all__ = ["TARGETS", "DEFAULT_TARGET", "Target", "WheelError", "wheel_files", "setup_sh", "parse_wheel", "fits",
           "WHEELS", "LOCK", "SUMS"]
