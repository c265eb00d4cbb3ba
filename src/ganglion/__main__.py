"""``python -m ganglion ...``: the ``ganglion`` command (see ``ganglion.cli``)."""
import sys

from ganglion.cli import main

sys.exit(main())
