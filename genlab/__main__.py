import sys

from genlab.course.cli import main

sys.exit(main())
