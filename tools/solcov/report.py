"""Coverage of the production contracts: figures, gaps with their reasons, Markdown and JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from solcov.analysis import OUTCOMES, FileResult, Mapping, build_mapping, coverage
from solcov.build import Build, compile_project, match_creation, match_runtime
from solcov.collect import CodeHits, Hits


@dataclass(frozen=True)
class Reason:
    """Why an outcome of a branch point is never reached: ``code`` is the start of the
    branch point's source (whitespace collapsed), as the report prints it."""

    file: str
    code: str
    outcome: str
    reason: str


def load_reasons(path: Path | None) -> list[Reason]:
    """Reasons from a YAML list of {file, code, outcome, reason}; none if there is no file."""
    if path is None or not path.exists():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    reasons = []
    for i, entry in enumerate(entries):
        missing = [k for k in ("file", "code", "outcome", "reason") if not entry.get(k)]
        if missing:
            raise ValueError(f"{path}: entry {i + 1} lacks {', '.join(missing)}")
        reasons.append(
            Reason(
                entry["file"], " ".join(entry["code"].split()), entry["outcome"], entry["reason"]
            )
        )
    return reasons


@dataclass
class Gap:
    file: str
    line: int
    code: str
    kind: str
    outcome: str
    reason: str | None
    unnamed: bool = False  # a direction ran whose outcome the code could not tell


@dataclass
class Report:
    """Everything ``make coverage`` writes."""

    results: dict[str, FileResult]
    mapping: Mapping
    gaps: dict[str, list[Gap]] = field(default_factory=dict)
    unused_reasons: list[Reason] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)  # production contracts never seen running
    traces: int = 0
    steps: int = 0

    def figures(self, path: str) -> dict[str, tuple[int, int]]:
        result = self.results[path]
        functions = result.functions
        return {
            "lines": result.line_figures,
            "branches": result.branch_figures,
            "functions": (sum(functions.values()), len(functions)),
        }

    def totals(self) -> dict[str, tuple[int, int]]:
        out = {"lines": (0, 0), "branches": (0, 0), "functions": (0, 0)}
        for path in self.results:
            for key, (hit, total) in self.figures(path).items():
                out[key] = (out[key][0] + hit, out[key][1] + total)
        return out

    def problems(self, min_lines: float, min_branches: float) -> list[str]:
        """What keeps the targets from being met, one sentence each."""
        out = []
        for path, result in self.results.items():
            name = Path(path).name
            hit, total = result.line_figures
            if total and 100 * hit / total < min_lines:
                out.append(f"{name}: lines {_pct(hit, total)} < {min_lines:g}%")
            hit, total = result.branch_figures
            if total and 100 * hit / total < min_branches:
                out.append(f"{name}: branches {_pct(hit, total)} < {min_branches:g}%")
            unexplained = [g for g in self.gaps[path] if g.reason is None]
            if unexplained:
                where = ", ".join(f"{g.line} ({g.outcome})" for g in unexplained[:8])
                more = f" and {len(unexplained) - 8} more" if len(unexplained) > 8 else ""
                out.append(
                    f"{name}: {len(unexplained)} uncovered branch outcomes have no reason"
                    f" (lines {where}{more}): add a test or a reason"
                )
        out.extend(f"{name} never ran in the tests" for name in self.unseen)
        return out


def _pct(hit: int, total: int) -> str:
    return f"{100 * hit / total:.1f}%" if total else "n/a"


def hits_by_contract(build: Build, hits: Hits) -> tuple[dict[tuple[str, str], CodeHits], int]:
    """The hits of each compiled contract (by its runtime code on chain); and how many codes
    seen on chain are none of them (test doubles, clones' proxies, tokens)."""
    out: dict[tuple[str, str], CodeHits] = {}
    kinds = {digest: kind for kind, digest in hits.code}
    names: dict[str, str | None] = {
        digest: (match_creation if kinds.get(digest) == "initcode" else match_runtime)(
            build, bytes.fromhex(code)
        )
        for digest, code in hits.bytecode.items()
    }
    for (kind, digest), code_hits in hits.code.items():
        name = names.get(digest)
        if name is not None:
            key = (name, "creation" if kind == "initcode" else kind)
            out.setdefault(key, CodeHits()).merge(code_hits)
    return out, sum(1 for name in names.values() if name is None)


def make_report(
    project: Path,
    hits: Hits,
    paths: list[str],
    reasons: list[Reason],
    cache: Path | None = None,
    build: Build | None = None,
) -> Report:
    """Compile ``paths`` as Ape did, map the hits onto them and match gaps with reasons."""
    build = build or compile_project(project, paths, cache=cache)
    by_contract, _ = hits_by_contract(build, hits)
    mapping = build_mapping(build, paths)
    results = coverage(mapping, by_contract)
    report = Report(results, mapping, traces=hits.traces, steps=hits.steps)
    used: set[Reason] = set()
    for path, result in results.items():
        source = mapping.files[path]
        gaps = []
        for branch in result.branches:
            code = source.snippet(branch.point.range)
            for outcome, covered in branch.covered.items():
                if covered:
                    continue
                reason = next(
                    (
                        r
                        for r in reasons
                        if r.file == path
                        and r.outcome == outcome
                        and (code.startswith(r.code) or r.code.startswith(code))
                    ),
                    None,
                )
                if reason is not None:
                    used.add(reason)
                gaps.append(
                    Gap(
                        path,
                        branch.point.line,
                        code,
                        branch.point.kind,
                        outcome,
                        reason.reason if reason else None,
                        branch.unnamed,
                    )
                )
        report.gaps[path] = gaps
    report.unused_reasons = [r for r in reasons if r not in used]
    production = {
        name
        for (name, kind) in build.codes
        if kind == "runtime" and any(name == Path(p).stem for p in paths)
    }
    report.unseen = sorted(n for n in production if (n, "runtime") not in by_contract)
    return report


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

METHOD = """\
## How it is measured

`make coverage` runs the test suite with the `solcov` pytest plugin (`tools/solcov/`). It
hooks the HTTP provider Ape talks to Anvil through and, right after each transaction is
mined and as each `eth_call` is made, asks Anvil for the step trace
(`debug_traceTransaction` / `debug_traceCall`, stack only). Before the chain is rewound
(`evm_revert`) it also traces the transactions other processes (the `ape run` commands the
CLI tests start) mined. From each trace it keeps, per bytecode, the pcs that ran, the
directions each JUMPI took, the first 4 bytes of calldata of each call, and the few
dozen instructions that ran after the first run of each JUMPI direction. The code running
at each depth is the code at the address of the CALL/STATICCALL/DELEGATECALL that entered
it, so the tenders and agreements, which are EIP-1167 clones, count as their
implementation's code; constructors count as creation code. A bytecode seen on chain is
matched to a contract by its runtime code with immutables masked.

The contracts are compiled once more with the same solc and the settings Ape recorded
(via-IR, 10,000 runs, Cancun; only source maps and ASTs are added to the output), which
gives the same bytecode. Each instruction is attributed through solc's source map to the
innermost statement of the AST whose source range holds it; code mapped to a whole
function, to the contract (dispatcher, ABI decoding) or to compiler-generated Yul belongs
to no statement.

- **Lines**: a line is executable when a statement with code starts on it, and hit when
  one of its instructions ran. The optimiser leaves some statements without code of their
  own (an internal call inlined into its caller, storage writes merged into one `SSTORE`, a
  getter's `return`). Such a statement is still measured when something shows it ran: a
  later statement of the same block ran (statements in a block run in order), the branch
  outcome that enters its block ran, the internal function it alone calls ran, or, for the
  first statement of a function without modifiers, the function was called (its selector
  was dispatched to) or, for a constructor, the contract was created. The few left
  are listed below as not measurable and are not in the totals.
- **Branches**: every `if`, `?:`, `&&`/`||`, loop condition, `try` and
  `require`/`assert` is a branch point with two outcomes. Its conditional jumps are the
  JUMPIs whose source range is the node (a loop's: its condition), or, if there is none,
  one testing its condition; inlining may copy one branch point into several JUMPIs, which
  count once. An outcome is covered when a JUMPI direction leading to it ran, or when one
  JUMPI ran both ways. Which outcome a direction leads to is read from the instructions that
  ran after it: the first one that maps into the `if` body, the right operand, a function
  only that outcome calls, or past the node decides; a direction of `if (...) revert`
  that reaches `REVERT` without another conditional jump is the failing one. Conditional
  jumps of compiler-generated checks (calldata decoding, call value, return data,
  arithmetic and enum panics, the dispatcher) are not source branches and are reported
  apart.

Limits: with the optimiser on, code of two identical source fragments may be merged and
mapped to one of them, and a branch point the optimiser turned into branch-free code has
no conditional jump to observe (listed below); the inference rules above are sound only
as far as the source map is right. `eth_call`s and failed gas estimates made by `ape run`
subprocesses are not traced (their transactions are).
"""


def _why_no_code(kind: str, code: str) -> str:
    """The usual reason the optimiser left a statement without instructions of its own."""
    if kind == "Return":
        return "it returns values already computed"
    if re.fullmatch(r"[\w.]+\(.*\)", code):
        return "a call inlined where it stands; the called function's lines are measured"
    return "its effect is merged into the code of the statements around it"


def _table(report: Report) -> list[str]:
    rows = [
        "| Contract | Lines | Branches | Functions | Not measurable |",
        "|---|---|---|---|---|",
    ]
    for path, result in report.results.items():
        figures = report.figures(path)
        cells = [f"{h}/{t} ({_pct(h, t)})" for h, t in figures.values()]
        rows.append(f"| {Path(path).name} | {' | '.join(cells)} | {len(result.unmeasured)} |")
    totals = report.totals()
    cells = [f"{h}/{t} ({_pct(h, t)})" for h, t in totals.values()]
    unmeasured = sum(len(r.unmeasured) for r in report.results.values())
    rows.append(f"| **all** | {' | '.join(cells)} | {unmeasured} |")
    return rows


def markdown(report: Report, min_lines: float, min_branches: float) -> str:
    lines = [
        "# Solidity coverage",
        "",
        "Written by `make coverage` from the whole test suite; do not edit by hand (reasons",
        "for uncovered branches live in `docs/coverage-reasons.yaml`).",
        "",
        *_table(report),
        "",
        f"Targets, for each production contract: {min_lines:g}% of lines, at least"
        f" {min_branches:g}% of branch outcomes, and a reason for every outcome that never ran.",
        "",
    ]
    problems = report.problems(min_lines, min_branches)
    if problems:
        lines += ["**Targets not met:**", "", *[f"- {p}" for p in problems], ""]
    else:
        lines += ["All targets are met.", ""]
    lines += [
        f"Traced: {report.traces} transactions and calls, {report.steps:,} EVM steps.",
        "",
        "## What is not covered, and why",
        "",
    ]
    for path, result in report.results.items():
        name = Path(path).name
        source = report.mapping.files[path]
        lines += [f"### {name}", ""]
        missed_lines = [line for line, hit in result.lines.items() if not hit]
        gaps = report.gaps[path]
        if not missed_lines and not gaps:
            lines.append("Every line and every branch outcome ran.")
        for line in missed_lines:
            lines.append(f"- line `{name}:{line}` never ran: `{source.line_text(line)}`")
        for gap in gaps:
            why = gap.reason or "**no reason given**"
            lines.append(
                f"- `{name}:{gap.line}` `{gap.code}`: outcome **{gap.outcome}** never ran. {why}"
            )
        lines.append("")
    lines += ["## Not measured", ""]
    for path, result in report.results.items():
        name = Path(path).name
        source = report.mapping.files[path]
        run, total = result.checks
        lines.append(
            f"- {name}: compiler-generated checks: {run} of {total} conditional-jump"
            " directions ran (not counted)."
        )
        for statement in result.unmeasured:
            code = source.snippet(statement.range)
            lines.append(
                f"  - `{name}:{statement.line}` `{code}`: no code of its own"
                f" ({_why_no_code(statement.kind, code)}) and nothing to infer from"
            )
        for point in result.not_in_bytecode:
            lines.append(
                f"  - branch point compiled without a conditional jump: `{name}:{point.line}`"
                f" `{source.snippet(point.range)}`"
            )
    lines += ["", METHOD]
    return "\n".join(lines).rstrip() + "\n"


def as_json(report: Report, min_lines: float, min_branches: float) -> dict[str, Any]:
    contracts = {}
    for path, result in report.results.items():
        source = report.mapping.files[path]
        figures = report.figures(path)
        contracts[path] = {
            **{
                key: {"hit": h, "total": t, "percent": round(100 * h / t, 2) if t else None}
                for key, (h, t) in figures.items()
            },
            "uncovered_lines": [
                {"line": line, "code": source.line_text(line)}
                for line, hit in result.lines.items()
                if not hit
            ],
            "uncovered_branches": [
                {
                    "line": g.line,
                    "kind": g.kind,
                    "code": g.code,
                    "outcome": g.outcome,
                    "outcomes": list(OUTCOMES[g.kind]),
                    "reason": g.reason,
                }
                for g in report.gaps[path]
            ],
            "not_measurable": [
                {"line": s.line, "code": source.snippet(s.range)} for s in result.unmeasured
            ],
            "branchless": [
                {"line": p.line, "code": source.snippet(p.range)} for p in result.not_in_bytecode
            ],
            "compiler_checks": {"ran": result.checks[0], "directions": result.checks[1]},
        }
    return {
        "targets": {"lines": min_lines, "branches": min_branches},
        "problems": report.problems(min_lines, min_branches),
        "traces": report.traces,
        "steps": report.steps,
        "contracts": contracts,
    }


def write(report: Report, md: Path, js: Path, min_lines: float, min_branches: float) -> None:
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(markdown(report, min_lines, min_branches))
    js.write_text(json.dumps(as_json(report, min_lines, min_branches), indent=2) + "\n")
