"""`python -m hv_cli ...` runs hv (handy with `python -X importtime -m hv_cli list vm`)."""

import sys

from hv_cli.main import main

sys.exit(main())
