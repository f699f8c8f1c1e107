"""NumPy (float64) reference implementation of the mytorch CNN homework.

One module per layer family, named as in the student's ``mytorch`` package
(``handout/api.md``); a fixture program's ``mytorch.<module>`` runs against
``reference.<module>``.  Every array is float64; weights returned by
``weight_init_fn`` / ``bias_init_fn`` may be nested lists and are converted
with ``np.asarray(..., dtype=np.float64)``.

The other modules are the tooling: the item declarations and case builders
(``items/``, ``casebuilder``), the known mistakes for hints (``variants``), the
program runner (``program``), the generator (``generate``) and its check (``check``).  ``LAYER_MODULES`` and ``__all__``
are discovered, so a new layer module needs no registration here.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

TOOLING_MODULES = frozenset({"casebuilder", "check", "generate", "items", "program", "variants"})
LAYER_MODULES = tuple(sorted(module.name for module in pkgutil.iter_modules(__path__)
                             if module.name not in TOOLING_MODULES and not module.name.startswith("_")))


def layer_classes() -> dict[str, type]:
    """Every public class defined in a layer module, by name."""
    classes = {}
    for name in LAYER_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        classes.update({cls_name: cls for cls_name, cls in inspect.getmembers(module, inspect.isclass)
                        if cls.__module__ == module.__name__ and not cls_name.startswith("_")})
    return classes


_classes = layer_classes()
globals().update(_classes)
__all__ = sorted(_classes)
