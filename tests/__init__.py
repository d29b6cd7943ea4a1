"""The test suite.

It writes bytecode whatever the shell says (``PYTHONDONTWRITEBYTECODE``): otherwise every
worker of a run, and every ``gateway`` subprocess its tests start, compiles the project again,
and pytest rewrites every test module's assertions again. This runs before any of the project
is imported, and its workers and subprocesses inherit it.
"""

import os
import sys

sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
