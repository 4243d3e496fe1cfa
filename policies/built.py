"""A cache of the built policy base and matcher, so a fresh `bot.py ask` does not rebuild them.

Building means parsing the YAML, converting Traditional script, indexing every phrasing and answer and
the homophone tables: about 0.3 s of CPU, most of a one-question `bot.py ask`. The result depends only on
the data files, on this package's code and on the libraries whose tables it copies (OpenCC's conversion,
pypinyin's readings), so it is pickled under a key made of all of them (SHA-256 of every data file and
every `policies/*.py`, the Python version and those libraries' versions): any edit to the data or the
code, or an upgraded library, makes a new key, and a stale file is never read. The cache is the same
kind of thing as `__pycache__` — written by the same user, next to nothing secret — and anything wrong
with it (missing, unreadable, truncated, another version) just means building as before.
`POLICY_CACHE_DIR=off` turns it off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from policies.loader import load_policy_base
from policies.matcher import Matcher
from policies.models import PolicyBase

logger = logging.getLogger(__name__)

_CODE_DIR = Path(__file__).resolve().parent
# Libraries whose data ends up inside the built matcher (or decides how it is built).
_LIBRARIES = ("opencc-python-reimplemented", "pypinyin", "jieba", "rapidfuzz", "PyYAML")
_PREFIX = "matcher-"
KEEP = 3  # cache files kept (a few data versions side by side: /reload back and forth)


def fingerprint(directory: Path) -> str:
    """SHA-256 over the data files under `directory`, this package's code, the Python version and the
    versions of `_LIBRARIES`."""
    digest = hashlib.sha256(sys.version.encode())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=?\0".encode())
    for root, label in ((Path(directory), "data"), (_CODE_DIR, "code")):
        files = sorted(root.rglob("*.y*ml")) if label == "data" else sorted(root.glob("*.py"))
        for path in files:
            digest.update(f"{label}:{path.relative_to(root)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def build(directory: Path, cache_dir: Path | None) -> tuple[PolicyBase, Matcher]:
    """The base and matcher of `directory`: from `cache_dir` when built before, else built (and
    cached). PolicyError from the loader as without a cache (bad data is never cached)."""
    if cache_dir is None:
        base = load_policy_base(directory)
        return base, Matcher(base)
    try:
        key = fingerprint(directory)
    except OSError:  # unreadable data: let the loader say what is wrong
        base = load_policy_base(directory)
        return base, Matcher(base)
    path = cache_dir / f"{_PREFIX}{key}.pickle"
    found = _read(path)
    if found is not None:
        return found
    base = load_policy_base(directory)
    matcher = Matcher(base)
    _write(path, (base, matcher))
    return base, matcher


def _read(path: Path) -> tuple[PolicyBase, Matcher] | None:
    try:
        with path.open("rb") as fh:
            base, matcher = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated, another version's classes, ...: rebuild
        logger.info("Ignoring the policy cache %s (%s)", path.name, type(exc).__name__)
        return None
    if not isinstance(base, PolicyBase) or not isinstance(matcher, Matcher):
        return None
    return base, matcher


def _write(path: Path, built: tuple[PolicyBase, Matcher]) -> None:
    """Write atomically (another process may be reading or writing the same key), then keep the
    newest `KEEP` files. A read-only or full disk only costs the next start its build."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(built, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        older = sorted(path.parent.glob(f"{_PREFIX}*.pickle"), key=_mtime, reverse=True)[KEEP:]
        for stale in older:
            stale.unlink(missing_ok=True)
    except OSError as exc:
        logger.info("Could not write the policy cache in %s: %s", path.parent, exc)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
