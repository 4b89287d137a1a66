"""Keep the repository root off sys.path during tests.

`python -m pytest` puts the root first on sys.path, where the thin `flowc/` folder would shadow the
installed package (whose `flowc.dsl`, `flowc.runtime`, ... live in sibling folders). Tests must import
flowc as users do: from the installed distribution (editable or not).
"""

import os
import sys

_ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
for _name in [m for m in sys.modules if m == "flowc" or m.startswith("flowc.")]:
    if not getattr(sys.modules[_name], "__file__", None) or os.path.dirname(
            os.path.abspath(sys.modules[_name].__file__ or "")) == os.path.join(_ROOT, "flowc"):
        del sys.modules[_name]
