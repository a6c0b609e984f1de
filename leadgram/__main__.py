import sys

from leadgram.cli import main

sys.exit(main())
