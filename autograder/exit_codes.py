"""Exit statuses of ``runner.py`` and of the platform commands, in one table.

Plain constants only (no imports, no annotations): ``runner.py`` reads this module
before it has checked that the interpreter can run the grader.

=====  =================  ==================================================================
code   name               meaning
=====  =================  ==================================================================
0      GRADED             a result was written. ``runner.py``: grading ran, whatever the
                          score. Platform modes (``--format gradescope``/``prairielearn``,
                          ``--autolab-feedback``, ``python -m autograder.platforms.gradescope run``, the
                          PrairieLearn and Autolab grading drivers): also a submission that
                          cannot be graded because of the student's own files (no
                          ``mytorch/``, an unsafe archive): the platform document says why.
2      HARNESS_ERROR      usage, configuration or harness error: a bad option, a fixture set
                          that does not verify, no sandbox for untrusted code, a file that
                          cannot be written, a grading that crashed or did not finish. In
                          platform modes the platform document is still written and says
                          that grading failed (see each platform in the README).
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

Not gathered here (their own modules, same values): ``runner.py batch``
(``autograder.batch.options``: 0 all graded, 1 some could not be graded, 2 the batch
itself failed) and ``runner.py batch export --canvas`` (``autograder.platforms.canvas``: 0,
1 some students listed as unmatched, 2 usage).
"""

GRADED = 0
HARNESS_ERROR = 2
INTERRUPTED = 128 + 2
BROKEN_PIPE = 128 + 13

__all__ = ["GRADED", "HARNESS_ERROR", "INTERRUPTED", "BROKEN_PIPE"]
