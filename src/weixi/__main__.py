import sys

import weixi

weixi.cli_args = sys.argv[1:]  # before the CLI is imported: `close` imports only its own modules (weixi.cli.ALONE)

from weixi.cli import main  # noqa: E402

main()
