"""``python -m neariq_sms.cli``: the same as the ``neariq-sms`` script."""

import sys

from neariq_sms.cli import main

sys.exit(main())
