"""``python -m pix2pix_tf`` is the ``pix2pix-tf`` command."""

import sys

from .apps.cli import main

sys.exit(main())
