"""`python -m wheelset.cli`: the same as the `wheelset` command."""

import sys

from wheelset.cli import main

sys.exit(main())
