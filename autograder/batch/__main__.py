"""``python -m autograder.batch``: the batch grader (autograder.batch.main)."""
import sys

from autograder.batch.main import main

sys.exit(main())
