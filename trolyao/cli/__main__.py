"""`python -m trolyao.cli …` = `trolyao …`."""
import sys

from trolyao.cli import main

sys.exit(main())
