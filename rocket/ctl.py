"""``rocket.pyz ctl ...``: talk to a running agent over its control socket."""

import sys


def main(argv):
    sys.stderr.write("rocket ctl: no control socket support in this build\n")
    return 2
