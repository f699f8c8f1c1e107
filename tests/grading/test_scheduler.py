"""autograder/grading/scheduler.py: which thread grades which item, and when."""
import pytest

from autograder.contract.fixtures import load_fixture_set
from helpers import ROOT, TEMPLATE


def test_the_scheduler_grades_each_item_once_on_its_threads_or_for_whoever_asks_first(monkeypatch):
    """Items run on ``jobs`` threads, largest first; an item nobody has started yet is graded by the
    caller who needs it; asking again gives the same results; an error reaches the caller."""
    import threading
    import time
    from autograder.grading.scheduler import Scheduler
    fixture_set = load_fixture_set(ROOT / "fixtures")
    items = list(fixture_set.items)
    graded, lock = [], threading.Lock()

    def grade_item(self, item):  # as the real one: results kept, an item graded before is not graded again
        with lock:
            if item in self.results:
                return self.results[item]
            graded.append((item, threading.current_thread().name))
        time.sleep(0.01)
        if item == items[-1]:
            raise RuntimeError("boom")
        with lock:
            return self.results.setdefault(item, [item])

    monkeypatch.setattr(Scheduler, "grade_item", grade_item)
    scheduler = Scheduler(TEMPLATE, fixture_set, None, jobs=2)
    scheduler.start(items)
    for item in items[:-1]:
        assert scheduler.item_results(item) == [item] and scheduler.item_results(item) == [item]
    with pytest.raises(RuntimeError, match="boom"):
        scheduler.item_results(items[-1])
    scheduler.shutdown()
    names = [item for item, _ in graded]
    assert sorted(names) == sorted(items)
    assert {thread for _, thread in graded} <= {"grader_0", "grader_1", threading.current_thread().name}
