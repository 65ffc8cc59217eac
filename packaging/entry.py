"""The bundle's entry point: the same ``main`` as the ``speckle-uploader`` command."""

import sys

from speckle_uploader.cli import main

sys.exit(main())
