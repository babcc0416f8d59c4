"""``python -m solcov report``: turn recorded hits into docs/coverage.md and .json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from solcov.build import BuildError
from solcov.collect import Hits
from solcov.report import load_reasons, make_report, write

PRODUCTION = [
    "contracts/Consortium.sol",
    "contracts/Registry.sol",
    "contracts/Tender.sol",
    "contracts/Agreement.sol",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solcov", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="write the coverage report from recorded hits")
    report.add_argument("paths", nargs="*", default=PRODUCTION, help="contract sources")
    report.add_argument("--project", type=Path, default=Path.cwd())
    report.add_argument("--hits", type=Path, default=Path("out/coverage"))
    report.add_argument("--md", type=Path, default=Path("docs/coverage.md"))
    report.add_argument("--json", type=Path, default=Path("docs/coverage.json"))
    report.add_argument("--reasons", type=Path, default=Path("docs/coverage-reasons.yaml"))
    report.add_argument("--min-lines", type=float, default=100.0)
    report.add_argument("--min-branches", type=float, default=95.0)
    args = parser.parse_args(argv)

    hits = Hits.load(args.hits)
    if not hits.traces:
        print(f"solcov: no hits in {args.hits}: run the tests with coverage first (make coverage)")
        return 2
    try:
        result = make_report(
            args.project, hits, args.paths, load_reasons(args.reasons), cache=args.hits
        )
    except (BuildError, ValueError) as err:
        print(f"solcov: {err}")
        return 2
    write(result, args.md, args.json, args.min_lines, args.min_branches)
    for path in result.results:
        figures = result.figures(path)
        cells = ", ".join(
            f"{key} {hit}/{total} ({100 * hit / total if total else 0:.1f}%)"
            for key, (hit, total) in figures.items()
        )
        print(f"{Path(path).name}: {cells}")
    for reason in result.unused_reasons:
        print(f"solcov: reason no longer needed ({reason.file}: {reason.code} / {reason.outcome})")
    problems = result.problems(args.min_lines, args.min_branches)
    for problem in problems:
        print(f"solcov: {problem}")
    print(f"solcov: wrote {args.md} and {args.json}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
