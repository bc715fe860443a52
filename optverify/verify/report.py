"""Write reports atomically: a claim's folder is built aside, then swapped in by renames.

Layout under the output folder:
    summary.json, summary.md, index.html
    <claim>/report.json, <claim>/report.md, <claim>/index.html, <claim>/<figure>.png
    .optverify-manifest.json (every file optverify wrote there), .optverify.lock
An interrupted run leaves the previous report of every claim intact: files are written to a
temporary folder (or temporary file) and only renamed into place once complete. Files and folders
get the user's usual permissions (0666 / 0777 less the umask), not the private temporary-file
defaults.

Nothing of the user's is touched. The manifest lists every report file optverify wrote in the
folder; a file it does not list is the user's. A run refuses a non-empty folder without a manifest
(`ensure_writable`); a claim folder's own files (a user's notes.txt) are carried into the new
folder when it is swapped in, and a report file that would replace one of them is refused
(`ReportError`), as is a summary file that would replace one. The manifest is written before a
swap with the old and the new files (so it never misses a file optverify wrote, whenever the run
is killed) and after it with the new ones.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from optverify.results import ClaimResult, RunResult
from optverify.verify import drawing
from optverify.verify.html import claim_html, summary_html
from optverify.verify.markdown import claim_markdown, summary_markdown
from optverify.verify.plots import draw_figure
from optverify.verify.serialize import claim_to_json, summary_to_json


class ReportError(OSError):
    """The output folder cannot be created or written."""


LOCK_NAME = ".optverify.lock"
MANIFEST_NAME = ".optverify-manifest.json"
MANIFEST_FORMAT = 1


def _json_text(data: dict) -> str:
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def ensure_writable(out: Path | str) -> None:
    """Create `out` if needed and prove a file can be written there, or raise ReportError; a
    folder that holds anything but a manifest of optverify's is refused (it is not a report
    folder: its files are the user's), and an empty one gets an empty manifest."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
        if not (out / MANIFEST_NAME).exists():
            foreign = sorted(path.name for path in out.iterdir()
                             if path.name != LOCK_NAME and not path.name.startswith(".write-test-"))
            if foreign:
                raise ReportError(
                    f"{out} is not empty and is not an optverify report folder (no "
                    f"{MANIFEST_NAME}; it holds {', '.join(foreign[:3])}"
                    f"{', ...' if len(foreign) > 3 else ''}): choose a new or empty --out")
            write_manifest(out, ())
    except ReportError:
        raise
    except OSError as error:
        raise ReportError(f"cannot write reports to {out}: {error.strerror or error}") from error


def read_manifest(out: Path | str) -> frozenset[str]:
    """The files optverify wrote in `out` (paths relative to it, with `/`); none when there is no
    manifest. An unreadable manifest is a ReportError: which files are the user's is unknown."""
    path = Path(out) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return frozenset()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"cannot read {path} ({getattr(error, 'strerror', None) or error}): "
                          "which files there are optverify's is unknown; choose another --out") \
            from error
    files = data.get("files") if isinstance(data, dict) else None
    if not (isinstance(files, list) and all(isinstance(name, str) for name in files)):
        raise ReportError(f"{path} is not an optverify manifest (no list of files): which files "
                          "there are optverify's is unknown; choose another --out")
    return frozenset(files)


def write_manifest(out: Path | str, files: Iterable[str]) -> None:
    """Record (atomically) that optverify wrote `files` (relative to `out`)."""
    write_text_atomic(Path(out) / MANIFEST_NAME, _json_text(
        {"written_by": "optverify", "manifest_format": MANIFEST_FORMAT,
         "files": sorted(set(files))}))


def _refuse_foreign(path: Path, out: Path, owned: frozenset[str]) -> None:
    """A ReportError if `path` exists and optverify did not write it (it is not in the
    manifest), so that a report file never replaces a file of the user's."""
    if (path.exists() or path.is_symlink()) and \
            path.relative_to(out).as_posix() not in owned:
        raise ReportError(f"{path} was not written by optverify and a report file of that name "
                          "would replace it: move it away, or choose another --out")


def current_umask() -> int:
    """The process's umask, read without changing it where Linux shows it (/proc/self/status);
    elsewhere set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode an ordinary new file gets: 0666 less the umask."""
    return 0o666 & ~current_umask()


def folder_mode() -> int:
    """The mode an ordinary new folder gets: 0777 less the umask."""
    return 0o777 & ~current_umask()


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`; the file gets
    the user's usual mode (mkstemp would leave it 0600)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, file_mode())
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def _signals_deferred():
    """SIGINT and SIGTERM wait while the block runs, so the renames of a swap and the removal of
    the old folder are never split by an interrupt: their Python handlers are swapped for one
    that only notes the signal, and the first one noted is handled after the block. (Blocking the
    signals with pthread_sigmask is not enough: torch's and BLAS's threads would take them.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    held = {number: signal.signal(number, lambda number, frame: noted.append(number))
            for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in held.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        for number in noted[:1]:
            handler = held[number]
            if callable(handler):
                handler(number, None)
            elif handler in (signal.SIG_DFL, None):
                signal.raise_signal(number)


def _link_or_copy(source: str, target: str) -> None:
    """A hard link of `source` at `target` (the same file, so nothing is copied), or a copy where
    the file system has no hard links."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def carry_foreign_files(final: Path, staging: Path, owned: frozenset[str], prefix: str) -> None:
    """Put the files and folders of `final` that optverify did not write (not in `owned` as
    `prefix/<name>`) into `staging` too, as hard links (or copies), so that they survive the swap;
    the old folder keeps them until the swap. A report file of the same name is a ReportError."""
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise ReportError(f"{final} is not a folder optverify wrote (a "
                          f"{'symbolic link' if final.is_symlink() else 'file'}); move it away, "
                          "or choose another --out")
    if not final.exists():
        return
    for entry in final.iterdir():
        if f"{prefix}/{entry.name}" in owned:
            continue
        target = staging / entry.name
        if target.exists() or target.is_symlink():
            raise ReportError(f"{entry} was not written by optverify and the new report has a "
                              "file of that name: move it away, or choose another --out")
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(entry), str(target))


def _swap_in(staging: Path, final: Path) -> None:
    """Replace folder `final` by `staging`; the old folder is removed only after the swap, and put
    back if the second rename fails."""
    retired = final.with_name(f".{final.name}.old")
    if retired.exists():
        shutil.rmtree(retired)
    with _signals_deferred():
        if final.exists():
            os.replace(final, retired)
        try:
            os.replace(staging, final)
        except OSError:
            if retired.exists() and not final.exists():
                os.replace(retired, final)
            raise
        shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def locked(out: Path | str) -> Iterator[None]:
    """Hold `out/.optverify.lock` (fcntl.flock, exclusive, non-blocking) while a run writes there:
    a second run on the same folder is refused at once with a ReportError, never left waiting."""
    path = Path(out) / LOCK_NAME
    try:
        handle = open(path, "a")  # noqa: SIM115 (held for the whole block)
    except OSError as error:
        raise ReportError(f"cannot write reports to {out}: {error.strerror or error}") from error
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReportError(f"another verify run is writing to {out} (it holds {path}); "
                              "wait for it to finish, or choose another --out") from None
        yield
    finally:
        handle.close()


def _is_leftover(path: Path) -> bool:
    """A staging or retired claim folder, or a temporary summary or write-test file, of a run that
    was killed outright (SIGKILL, power loss) before it could clean up."""
    name = path.name
    if path.is_dir():
        return ".staging-" in name or name.endswith(".old")
    return name.startswith((".write-test-", ".summary.json.", ".summary.md.", ".index.html.",
                            f".{MANIFEST_NAME}."))


def clear_leftovers(out: Path | str) -> None:
    """Remove what a killed run left in `out`; a retired folder whose claim folder is missing is
    put back (the kill fell between the two renames). Call it with `locked(out)` held, so that no
    other run is writing these."""
    for path in sorted(Path(out).glob(".*")):
        if not _is_leftover(path):
            continue
        final = path.with_name(path.name[1:].removesuffix(".old"))
        if path.is_dir() and path.name.endswith(".old") and not final.exists():
            os.replace(path, final)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _write_errors_reported(write):
    """An OSError while writing (a full disk, an unwritable file or folder) becomes one ReportError
    line naming the folder; what was there before stays (the writes are atomic)."""

    @functools.wraps(write)
    def wrapped(subject, out, *args, **kwargs):
        try:
            return write(subject, out, *args, **kwargs)
        except ReportError:
            raise
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            raise ReportError(f"cannot write reports to {out}{where}: "
                              f"{error.strerror or error}") from error

    return wrapped


def claim_log(result: ClaimResult) -> str:
    """What the claim's layers printed (stdout and stderr, captured in their process), by layer."""
    return "".join(f"== {layer.layer.value} layer ==\n{layer.log.rstrip(chr(10))}\n"
                   for layer in result.layers if layer.log)


@_write_errors_reported
def write_claim_report(result: ClaimResult, out: Path | str,
                       pngs: Mapping[str, bytes] | None = None) -> Path:
    """Write report.json, report.md, index.html and the figures of one claim; returns the claim's
    folder. `pngs`: the figures already drawn, by name (drawn here when None)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{result.claim}.staging-"))
    try:
        staging.chmod(folder_mode())  # mkdtemp makes it 0700
        for figure in result.figures:
            path = staging / f"{figure.name}.png"
            if pngs is None:
                draw_figure(figure, path)
            else:
                path.write_bytes(pngs[figure.name])
        (staging / "report.md").write_text(claim_markdown(result), encoding="utf-8")
        (staging / "index.html").write_text(claim_html(result), encoding="utf-8")
        (staging / "report.json").write_text(_json_text(claim_to_json(result)), encoding="utf-8")
        if any(layer.log for layer in result.layers):
            (staging / "log.txt").write_text(claim_log(result), encoding="utf-8")
        written = {f"{result.claim}/{path.name}" for path in staging.iterdir()}
        final = out / result.claim
        owned = read_manifest(out)
        carry_foreign_files(final, staging, owned, result.claim)
        with _signals_deferred():  # the manifest listing old and new files, then the swap: one step
            write_manifest(out, owned | written)
            _swap_in(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_manifest(out, {name for name in owned if not name.startswith(f"{result.claim}/")}
                   | written)
    return final


class ClaimReports:
    """The claim reports of one run, written as the claims finish (a context manager).

    With `draw_aside`, a finished claim's figures go to the drawing helper
    (`optverify.verify.drawing`) and its folder is written once they are drawn: when a later
    claim finishes or at `finish`, in the order the claims finished, so that the drawing overlaps
    the next claim. Without it, each report is written at once. Leaving the block by an exception
    (an interrupt, a write that failed) drops the reports not yet written: their claims keep
    their previous reports."""

    def __init__(self, out: Path | str, draw_aside: bool):
        self.out = Path(out)
        self.draw_aside = draw_aside
        self._pending: list[tuple[ClaimResult, list[Future]]] = []

    def __enter__(self) -> ClaimReports:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None and self.draw_aside:
            self._pending.clear()
            drawing.stop()

    def add(self, result: ClaimResult) -> None:
        if not self.draw_aside:
            write_claim_report(result, self.out)
            return
        self._pending.append((result, [drawing.submit(figure) for figure in result.figures]))
        self._write_drawn(wait=False)

    def finish(self) -> None:
        """Write every report still waiting for its figures."""
        self._write_drawn(wait=True)

    def _write_drawn(self, wait: bool) -> None:
        while self._pending and (wait or all(future.done() for future in self._pending[0][1])):
            result, drawings = self._pending[0]
            pngs = {figure.name: drawing.png_of(figure, future)
                    for figure, future in zip(result.figures, drawings)}
            write_claim_report(result, self.out, pngs)
            self._pending.pop(0)


def claim_pages_in(out: Path) -> list[str]:
    """The claim folders under `out` whose index.html optverify wrote (this run or earlier ones,
    by the manifest)."""
    owned = read_manifest(out)
    return sorted(folder.name for folder in out.iterdir()
                  if not folder.name.startswith(".") and f"{folder.name}/index.html" in owned
                  and (folder / "index.html").is_file())


SUMMARY_FILES = ("summary.json", "summary.md", "index.html")


@_write_errors_reported
def write_summary(run: RunResult, out: Path | str) -> None:
    """Write summary.json, summary.md and index.html: the claims of this run; index.html also
    links the claim pages that earlier runs left in `out` (docs/report-format.md). A summary file
    of the user's (one the manifest does not list) is never replaced: a ReportError."""
    out = Path(out)
    owned = read_manifest(out)
    for name in SUMMARY_FILES:
        _refuse_foreign(out / name, out, owned)
    write_manifest(out, owned | set(SUMMARY_FILES))
    write_text_atomic(out / "summary.json", _json_text(summary_to_json(run)))
    write_text_atomic(out / "summary.md", summary_markdown(run))
    write_text_atomic(out / "index.html", summary_html(run, earlier=claim_pages_in(out)))
