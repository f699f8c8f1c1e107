"""``python -m autograder ARGS``: the same command as ``python runner.py ARGS`` (autograder/cli.py)."""
import sys

from autograder.cli import main

sys.exit(main())
