"""``python -m bench [--quick] [--json PATH]`` — see ``bench/__init__.py``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.report import render
from bench.runner import FULL, QUICK, run

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test")
    parser.add_argument(
        "--json",
        type=Path,
        help="results file (default: bench/results.json, or bench/results-quick.json with --quick)",
    )
    parser.add_argument(
        "--report", action="store_true", help="only print the table of an earlier run's --json"
    )
    args = parser.parse_args(argv)
    if args.json is None:
        args.json = HERE / ("results-quick.json" if args.quick else "results.json")
    if args.report:
        print(render(json.loads(args.json.read_text())))
        return 0
    results = run(QUICK if args.quick else FULL)
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(render(results))
    print(f"\n(results written to {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
