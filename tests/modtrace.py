"""Run a zipapp and record every module it imported (for the packaging tests).

    python3 -I -S tests/modtrace.py OUT.txt rocket.pyz ARGS...

Runs the zipapp's ``__main__`` exactly as ``python3 -I -S rocket.pyz ARGS``
would (the zip first on sys.path, ``__name__ == "__main__"``) and, at exit,
writes the names in ``sys.modules`` to OUT.txt, one per line. This file
imports nothing beyond what the interpreter has loaded before any user code
(sys, atexit and zipimport are built in or frozen), so the list holds only
what the interpreter itself and the agent needed.
"""

import atexit
import sys
import zipimport

out, pyz = sys.argv[1], sys.argv[2]
sys.argv = [pyz] + sys.argv[3:]
sys.path.insert(0, pyz)


def _dump():
    with open(out, "w") as f:
        f.write("\n".join(sorted(sys.modules)) + "\n")


atexit.register(_dump)
loader = zipimport.zipimporter(pyz)
code = loader.get_code("__main__")
exec(code, {"__name__": "__main__", "__file__": pyz + "/__main__.py", "__builtins__": __builtins__,
            "__package__": "", "__loader__": loader})
