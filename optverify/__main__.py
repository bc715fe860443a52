"""`python -m optverify` runs the `verify` command."""

import sys

from optverify.verify.cli import main

sys.exit(main())
