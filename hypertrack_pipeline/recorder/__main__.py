"""``python -m hypertrack_pipeline.recorder``: the same as ``hypertrack record``."""

from __future__ import annotations

import argparse
import sys

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.recorder.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hypertrack_pipeline.recorder")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["record", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
