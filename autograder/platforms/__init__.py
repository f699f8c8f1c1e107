"""Ready-to-install grading setups for course platforms, each built by one command.

- :mod:`autograder.platforms.prairielearn`: ``python -m autograder.platforms.prairielearn --out DIR``,
  an externally graded PrairieLearn question and the ``serverFilesCourse`` folder it grades with.
- :mod:`autograder.platforms.autolab`: ``python -m autograder.platforms.autolab --out DIR``,
  an Autolab lab (assessment) folder and its importable tarball.
- :mod:`autograder.platforms.common`: what both share (the files shipped, the graded modules,
  the time budget, assembling an upload into a ``mytorch/`` package, running the grader with a
  deadline).

The documents each platform reads are written by the flat modules (``autograder/report/prairielearn.py``,
``autograder/report/autolab.py``, ``autograder/report/gradescope.py``) through ``runner.py``.
"""
