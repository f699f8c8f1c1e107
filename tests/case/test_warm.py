"""autograder/case/warm.py: the standard modules the fork server imports before its first case."""
import subprocess
import sys

from helpers import ROOT


def test_the_fork_server_preloads_standard_modules_but_never_a_denied_one():
    code = """if True:
        import importlib.util, sys
        def load(name):
            spec = importlib.util.spec_from_file_location(name, f"autograder/case/{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        warm, guard = load("warm"), load("guard")
        denied = {**guard.DENIED_IMPORTS, **guard.UNCONFINED_IMPORTS}
        kept = warm.preload_modules(denied)
        assert "random" in kept and "math" in kept, kept
        assert not [m for m in sys.modules if warm.is_denied(m, denied)], sorted(sys.modules)
        # statistics brings decimal along: with decimal denied, neither stays
        assert warm.preload_modules({"decimal": "test"}, ("statistics", "no_such_module")) == []
        assert not {"statistics", "decimal", "no_such_module"} & set(sys.modules)
        print("ok")
    """
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
