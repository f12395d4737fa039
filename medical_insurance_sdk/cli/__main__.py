"""Allow ``python -m medical_insurance_sdk.cli``."""

import sys

from medical_insurance_sdk.cli import main

sys.exit(main())
