import sys

from speckle_uploader.cli import main

sys.exit(main())
