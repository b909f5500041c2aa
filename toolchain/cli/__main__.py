"""python -m toolchain.cli"""

import sys

from toolchain.cli import main

sys.exit(main())
