"""Where a submission's ``mytorch/`` package is: one rule for the runner and the batch."""
from __future__ import annotations

from pathlib import Path

from autograder.errors import GraderError

PACKAGE = "mytorch"
IGNORED_NAMES = ("__MACOSX",)  # what archivers add beside the real content


class SubmissionError(GraderError):
    """A submission that cannot be graded at all: no (or no single) mytorch/ package, an unusable entry.

    ``str(error)`` is for runner.py's own terminal: it names the path and says what to pass on the
    command line.  ``error.upload`` says the same of an upload, for what a platform (Gradescope,
    PrairieLearn, Autolab) or a batch's feedback shows a student, who passed no folder: no path of
    the grading machine, no command-line advice ("your upload has no mytorch/ package folder ...").
    """

    def __init__(self, message: str, upload: str | None = None) -> None:
        super().__init__(message)
        self.upload = upload if upload is not None else message


def upload_text(error: BaseException) -> str:
    """An error about a submission as a platform shows it to its student (see SubmissionError.upload)."""
    return getattr(error, "upload", None) or str(error)


def package_problem(folder: str | Path) -> str | None:
    """Why ``folder`` holds no gradable ``mytorch/``, said of an upload (None: it holds one)."""
    try:
        locate_package(Path(folder))
    except SubmissionError as error:
        return upload_text(error)  # said of the upload: the student passed no folder
    except OSError as error:
        return f"{folder}: {error}"
    return None


def listing(names: list[str], limit: int = 10) -> str:
    """Up to ``limit`` entry names, terminal-safe (a name is the student's text), or ``nothing``."""
    from autograder.util.safetext import for_terminal
    shown = ", ".join(for_terminal(name) for name in names[:limit]) + (", ..." if len(names) > limit else "")
    return shown or "nothing"


def locate_package(root: Path) -> Path:
    """The folder holding ``mytorch/``: ``root`` itself or its only subfolder that does.

    Raises SubmissionError saying what was found instead, and what to pass when
    ``root`` is the ``mytorch/`` package itself.
    """
    root = Path(root)
    if (root / PACKAGE).is_dir():
        return root
    if not root.is_dir():
        what = "not a folder" if root.exists() else "no such folder"
        raise SubmissionError(f"{root}: {what}, so no {PACKAGE}/ package to grade "
                              f"(pass the folder that CONTAINS {PACKAGE}/)",
                              f"nothing was uploaded: there is no {PACKAGE}/ package folder to grade")
    if root.name == PACKAGE:
        raise SubmissionError(f"{root} is the {PACKAGE}/ package itself: pass the folder that contains it "
                              f"({root.parent})",
                              f"your upload is the inside of a {PACKAGE}/ folder, not a folder holding "
                              f"{PACKAGE}/: upload {PACKAGE}/ itself (or its .py files)")
    candidates = sorted(child for child in root.iterdir()
                        if child.is_dir() and not child.name.startswith(".") and child.name not in IGNORED_NAMES
                        and (child / PACKAGE).is_dir())
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        names = listing([c.name for c in candidates])
        raise SubmissionError(f"{root}: several folders hold a {PACKAGE}/ package ({names}): cannot tell which "
                              f"to grade",
                              f"your upload has several folders holding a {PACKAGE}/ folder ({names}): cannot "
                              f"tell which to grade; upload only one")
    found = listing(sorted(child.name + ("/" if child.is_dir() else "") for child in root.iterdir()))
    raise SubmissionError(f"{root}: no {PACKAGE}/ package folder in it or one level down (found: {found}); "
                          f"pass the folder that CONTAINS {PACKAGE}/",
                          f"your upload has no {PACKAGE}/ package folder, at its top or one folder down (it holds: "
                          f"{found})")
