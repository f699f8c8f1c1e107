"""The grader's exit statuses and its error base class, in one home.

Plain syntax only (no annotations, no f-strings, no imports at module level): ``runner.py``
reads this module before it has checked that the interpreter can run the grader.

=====  =================  ==================================================================
code   name               meaning
=====  =================  ==================================================================
0      GRADED             a result was written. ``runner.py``: grading ran, whatever the
                          score. Platform modes (``--format gradescope``/``prairielearn``,
                          ``--autolab-feedback``, ``python -m autograder.platforms.gradescope run``, the
                          PrairieLearn and Autolab grading drivers): also a submission that
                          cannot be graded because of the student's own files (no
                          ``mytorch/``, an unsafe archive): the platform document says why.
1      NOT_GRADED         ``runner.py batch``: some submissions could not be graded (each
                          listed); ``runner.py batch export``: some students are listed as
                          unmatched (UNMATCHED, the same value).
2      HARNESS_ERROR      usage, configuration or harness error (USAGE, the same value): a bad
                          option, a fixture set that does not verify, no sandbox for untrusted
                          code, a file that cannot be written, a grading that crashed or did not
                          finish. In platform modes the platform document is still written and
                          says that grading failed (see each platform in the README).
3      WORKER_STORAGE     only between a batch worker and its batch: the worker could not
                          write its report (the disk's failure, never the student's).
130    INTERRUPTED        stopped by Ctrl-C (128 + SIGINT); SIGTERM gives 143, SIGHUP 129
                          (``autograder.util.stop_signals.exit_code``: 128 + the signal).
141    BROKEN_PIPE        the reader of stdout left early (128 + SIGPIPE); files were written.
=====  =================  ==================================================================

A platform's own entry point always exits 0, because the platform reads the
document only then or because nothing may follow it: PrairieLearn's grading
script (PrairieLearn ignores ``results.json`` unless the container exits 0),
Autolab's ``make`` (a failing recipe would make ``make`` print its error line
after the scores line) and Gradescope's ``run_autograder``.  Each writes a valid
document first.

An error the grader turns into an exit status is a :class:`GraderError`: its class
carries the status (``exit_code``), and :func:`exit_status` is the one place that
prints it and maps it to that status (``runner.py``, ``python -m autograder.batch``
and the platform commands all end there).
"""

GRADED = 0
NOT_GRADED = 1
UNMATCHED = NOT_GRADED
HARNESS_ERROR = 2
USAGE = HARNESS_ERROR
WORKER_STORAGE = 3
INTERRUPTED = 128 + 2
BROKEN_PIPE = 128 + 13


class GraderError(Exception):
    """An error the grader reports in one line on stderr and ends with ``exit_code``.

    ``advice``: what the command that stopped adds for its user (e.g. the batch: how to go on);
    printed after the message."""

    exit_code = HARNESS_ERROR
    advice = ""

    def describe(self):
        """The line printed on stderr (after ``error: ``)."""
        return str(self) + ("; " + self.advice if self.advice else "")


class UsageError(GraderError):
    """The command cannot run as asked (a bad folder, duplicate student ids, a rejected fixture set, a
    misconfigured cluster)."""

    exit_code = USAGE


class StorageError(GraderError):
    """The grader cannot write where it must (the output folder, the temporary directory): the harness's
    failure, never a student's."""

    exit_code = HARNESS_ERROR


def exit_status(command, *args):
    """Run ``command(*args)`` and return its exit status; a :class:`GraderError` it raises is printed
    (``error: ...``, terminal-safe) and becomes the error's ``exit_code``."""
    try:
        return command(*args)
    except GraderError as error:
        import sys
        from autograder.util.safetext import for_terminal
        sys.stderr.write("error: " + for_terminal(error.describe()) + "\n")
        sys.stderr.flush()
        return error.exit_code


__all__ = ["GRADED", "NOT_GRADED", "UNMATCHED", "HARNESS_ERROR", "USAGE", "WORKER_STORAGE", "INTERRUPTED",
           "BROKEN_PIPE", "GraderError", "UsageError", "StorageError", "exit_status"]
