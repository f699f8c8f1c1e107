"""autograder/case/guard.py: what is not covered by grading hostile submissions (tests/e2e/test_hostile.py)."""
import ntpath

from autograder.case.guard import windows_resolver


def test_the_windows_resolver_is_ntpaths_realpath_case_folded(monkeypatch):
    """On Windows the audit hook resolves paths with the system's own functions, bound once: a path is
    the final path of its longest existing part (links and junctions followed), then the rest, all in
    lower case, so that an allowed root and a path to a file below it always compare equal."""
    final_paths = {"c:\\users\\ann\\sub": "\\\\?\\C:\\Users\\Ann\\Sub",
                   "c:\\users\\ann\\sub\\mytorch": "\\\\?\\C:\\Users\\Ann\\Sub\\mytorch",
                   "c:\\link": "\\\\?\\D:\\Target",
                   "\\\\server\\share\\hw": "\\\\?\\UNC\\server\\share\\hw"}
    asked = []

    def final(path):
        asked.append(path)
        if path.lower() in final_paths:
            return final_paths[path.lower()]
        raise FileNotFoundError(path)

    resolve = windows_resolver(ntpath.abspath, final)
    assert resolve("C:/Users/Ann/Sub/mytorch/conv.py") == "c:\\users\\ann\\sub\\mytorch\\conv.py"
    assert resolve("C:\\Users\\ann\\SUB\\..\\Sub\\new.txt") == "c:\\users\\ann\\sub\\new.txt"
    assert resolve("C:\\link\\secret.txt") == "d:\\target\\secret.txt"  # a junction leads elsewhere: followed
    assert resolve("\\\\server\\share\\hw\\mytorch\\a.py") == "\\\\server\\share\\hw\\mytorch\\a.py"
    assert resolve("Z:\\nothing\\here") == "z:\\nothing\\here"
    assert "c:\\users\\ann\\sub\\mytorch\\conv.py".startswith(resolve("C:\\Users\\Ann\\Sub") + "\\")
    # Student code rebinding the module's functions later changes nothing: they were bound when installed.
    monkeypatch.setattr(ntpath, "abspath", lambda path: "C:\\Users\\Ann\\Sub\\mytorch\\ok.py")
    assert resolve("C:\\Windows\\secret") == "c:\\windows\\secret"
