"""``python -m medical_insurance_sdk``: the ``misdk`` command line."""

import sys

from medical_insurance_sdk.cli import main

sys.exit(main())
