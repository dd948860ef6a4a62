"""``python -m mockverse`` runs the command line, then ends the process at once.

By the time ``main`` returns, a command has finished its work: a server has stopped, closed its store and
logged its last line. Tearing the interpreter down object by object after that costs a stopped server a
fifth of a second of CPU and more of waiting, so the logs and standard streams are flushed and the process
exits with the command's code without it. An error or ``--help`` still leaves the ordinary way.
"""

import logging
import os
import sys

from mockverse.cli import main

code = main()
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
