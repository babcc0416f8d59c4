"""Slither over the production contracts, judged against tools/slither/triage.yaml.

Run by the Slither virtualenv's Python (``make slither``): Slither needs eth-utils 6, which
eth-ape 0.8 cannot share, so it lives in ``.venv-slither``, pinned by requirements.txt here.

Compiles ``contracts/**/*.sol`` (not ``contracts/test/``: mocks and hostile tokens that are
meant to misbehave) through the project's solc (the solc-js launcher answers only
``--version`` and ``--standard-json``, so crytic-compile's standard-JSON platform is used),
with the settings of ape-config.yaml, runs every Slither detector, drops findings that lie
wholly in node_modules (OpenZeppelin), and compares the rest with the triage file:

- a finding that no triage entry matches fails the run, whatever its impact;
- High and Medium findings can only be listed under ``false_positives``, each pinned to the
  flagged statement, with the reason the detector is wrong; ``excused`` takes only Low,
  Informational and Optimization findings;
- a triage entry that matches nothing is stale and fails the run too, so the file stays true.

Inline ``// slither-disable`` comments and ``slither.db.json`` are ignored on purpose: the
triage file is the only place a finding can be excused.

Exit status: 0 clean, 1 findings to fix or triage (or Slither could not analyse a contract),
2 usage error (bad triage file, compiler missing or failing).
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from crytic_compile import CryticCompile
from crytic_compile.compilation_unit import CompilationUnit
from crytic_compile.compiler.compiler import CompilerVersion
from crytic_compile.platform import solc_standard_json
from crytic_compile.platform.exceptions import InvalidCompilation
from slither import Slither
from slither.detectors import all_detectors
from slither.detectors.abstract_detector import AbstractDetector, DetectorClassification
from slither.solc_parsing.declarations.contract import ContractSolc

IMPACTS = ("High", "Medium", "Low", "Informational", "Optimization")
SEVERE = ("High", "Medium")
DEPENDENCY_DIR = "node_modules/"
EXCLUDED_SUBDIR = "test"
MAX_REASON = 200


class UsageError(Exception):
    """Bad input to the runner: exit 2 with the message."""


# --------------------------------------------------------------------------- Slither patch

_analyze_using_for = ContractSolc.analyze_using_for


def _analyze_using_for_merged(self: ContractSolc) -> None:
    """Keeps every base contract's ``using ... for`` libraries, not only the last base's.

    Slither 0.11.6 copies its bases' directives with ``dict.update``, so when two bases both
    say ``using L for *`` (OpenZeppelin's EIP712 with ShortStrings, ReentrancyGuardTransient
    with TransientSlot) the second replaces the first. The first base's functions then get no
    IR, the contract is marked incorrectly parsed, and its SSA (which taint-based detectors
    need) is skipped for all its functions. Merging the lists restores full analysis.
    """
    _analyze_using_for(self)
    using_for = self._contract.using_for
    for base in self._contract.inheritance:
        for key, libraries in base.using_for.items():
            merged = using_for.setdefault(key, [])
            merged.extend(lib for lib in libraries if lib not in merged)


ContractSolc.analyze_using_for = _analyze_using_for_merged


# --------------------------------------------------------------------------- compilation


class _AstOnlyStandardJson(solc_standard_json.SolcStandardJson):
    """crytic-compile's standard-JSON platform, asking solc for ASTs and ABIs only.

    Slither analyses the AST; skipping code generation (via-IR at 10,000 runs) makes the
    compile take seconds instead of a minute. crytic-compile still expects bytecode fields,
    so they are filled in empty.
    """

    def compile(self, crytic_compile: CryticCompile, **kwargs: Any) -> None:
        solc: str = kwargs["solc"]
        working_dir: str = kwargs["solc_working_dir"]
        settings = self._json["settings"]
        unit = CompilationUnit(crytic_compile, "standard_json")
        unit.compiler_version = CompilerVersion(
            compiler="solc",
            version=solc_standard_json.get_version(solc, None),
            optimized=settings["optimizer"]["enabled"],
            optimize_runs=settings["optimizer"].get("runs"),
            via_ir=settings.get("viaIR", False),
        )
        output = solc_standard_json.run_solc_standard_json(
            self._json, unit.compiler_version, working_dir=working_dir, solc=solc
        )
        empty = {"object": "", "sourceMap": ""}
        for contracts in output.get("contracts", {}).values():
            for info in contracts.values():
                info.setdefault("evm", {"bytecode": empty, "deployedBytecode": empty})
        solc_standard_json.parse_standard_json_output(output, unit, solc_working_dir=working_dir)


@dataclass(frozen=True)
class Project:
    root: Path
    sources: list[str]
    excluded: str
    settings: dict[str, Any]
    solc_version: str


def load_project(root: Path) -> Project:
    """Reads ape-config.yaml: the contracts folder and the compiler settings Ape uses."""
    config_path = root / "ape-config.yaml"
    if not config_path.is_file():
        raise UsageError(f"{config_path} not found: pass --root, the project's folder")
    config = yaml.safe_load(config_path.read_text()) or {}
    solidity = config.get("solidity", {})
    folder = root / config.get("contracts_folder", "contracts")
    sources = sorted(
        path.relative_to(root).as_posix()
        for path in folder.rglob("*.sol")
        if path.relative_to(folder).parts[0] != EXCLUDED_SUBDIR
    )
    if not sources:
        raise UsageError(f"no .sol files under {folder}")
    settings: dict[str, Any] = {
        "remappings": list(solidity.get("import_remapping", [])),
        "optimizer": {
            "enabled": bool(solidity.get("optimize", True)),
            "runs": int(solidity.get("optimization_runs", 200)),
        },
        "viaIR": bool(solidity.get("via_ir", False)),
        "outputSelection": {"*": {"*": ["abi"], "": ["ast"]}},
    }
    if "evm_version" in solidity:
        settings["evmVersion"] = solidity["evm_version"]
    excluded = (folder / EXCLUDED_SUBDIR).relative_to(root).as_posix()
    return Project(root, sources, excluded, settings, str(solidity.get("version", "")))


def default_solc(version: str) -> Path:
    """Where the Makefile installs the solc-js launcher (py-solc-x's layout)."""
    folder = os.environ.get("SOLCX_BINARY_PATH") or Path.home() / ".solcx"
    return Path(folder) / f"solc-v{version}"


def analyse(project: Project, solc: Path) -> Slither:
    # crytic-compile reads the sources back for line numbers relative to the working
    # directory, whatever solc_working_dir says: run from the project's folder.
    os.chdir(project.root)
    standard_json = {
        "language": "Solidity",
        "sources": {source: {"urls": [source]} for source in project.sources},
        "settings": project.settings,
    }
    try:
        compilation = CryticCompile(
            _AstOnlyStandardJson(standard_json),
            solc=str(solc),
            solc_working_dir=str(project.root),
        )
    except InvalidCompilation as err:
        raise UsageError(f"solc failed:\n{err}") from err
    # show_ignored_findings: inline slither-disable comments and slither.db.json hide nothing.
    return Slither(compilation, show_ignored_findings=True)


def detector_classes() -> list[type[AbstractDetector]]:
    return sorted(
        (
            cls
            for _, cls in inspect.getmembers(all_detectors, inspect.isclass)
            if issubclass(cls, AbstractDetector)
        ),
        key=lambda cls: cls.ARGUMENT,
    )


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    check: str
    impact: str
    location: str
    statements: frozenset[str]
    description: str

    @property
    def first_line(self) -> str:
        return self.description.strip().splitlines()[0]


def _location(element: dict[str, Any]) -> str:
    """``Contract.function``, ``Contract.function.variable``, ``Contract.variable`` or a name."""
    parent = element.get("type_specific_fields", {}).get("parent")
    if element["type"] == "node":
        return _location(parent) if parent else element["name"]
    if not parent:
        return element["name"]
    return f"{_location(parent)}.{element['name']}"


def _is_dependency(element: dict[str, Any]) -> bool:
    filename = element.get("source_mapping", {}).get("filename_relative", "")
    return filename.startswith(DEPENDENCY_DIR)


def project_findings(results: list[dict[str, Any]]) -> tuple[list[Finding], int]:
    """The findings that touch the project's sources, and how many were OpenZeppelin's only."""
    findings: list[Finding] = []
    dependency_only = 0
    for result in results:
        own = [e for e in result["elements"] if "source_mapping" in e and not _is_dependency(e)]
        if not own:
            dependency_only += 1
            continue
        statements = frozenset(e["name"] for e in result["elements"] if e["type"] == "node")
        findings.append(
            Finding(
                check=result["check"],
                impact=result["impact"],
                location=_location(own[0]),
                statements=statements,
                description=result["description"],
            )
        )
    findings.sort(key=lambda f: (IMPACTS.index(f.impact), f.check, f.location))
    return findings, dependency_only


# --------------------------------------------------------------------------- triage


@dataclass(frozen=True)
class Excuse:
    section: str
    check: str
    location: str
    statement: str | None
    reason: str

    @property
    def key(self) -> str:
        at = self.location if self.statement is None else f"{self.location} | {self.statement}"
        return f"{self.check} @ {at}"

    def matches(self, finding: Finding) -> bool:
        if finding.check != self.check or finding.location != self.location:
            return False
        if self.statement is not None:
            return self.statement in finding.statements
        # A false positive is pinned: without a statement it only fits a finding that has none
        # (a variable), so a new statement flagged in the same function is not let through.
        return self.section == "excused" or not finding.statements


def load_triage(path: Path, impacts: dict[str, str]) -> list[Excuse]:
    """Parses and checks the triage file; every problem is a UsageError naming the entry."""
    if not path.is_file():
        raise UsageError(f"triage file {path} not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"{path}: not valid YAML: {err}") from err
    unknown = set(data) - {"false_positives", "excused"}
    if unknown:
        raise UsageError(f"{path}: unknown section(s) {sorted(unknown)}")
    excuses: list[Excuse] = []
    seen: set[str] = set()
    for section in ("false_positives", "excused"):
        for number, entry in enumerate(data.get(section) or [], start=1):
            where = f"{path.name}: {section} entry {number}"
            if not isinstance(entry, dict) or set(entry) != {"check", "reason", "at"}:
                raise UsageError(f"{where}: needs exactly `check`, `reason` and `at`")
            check, reason, at = entry["check"], entry["reason"], entry["at"]
            if check not in impacts:
                raise UsageError(f"{where}: no Slither detector is called {check!r}")
            if not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
                raise UsageError(f"{where} ({check}): the reason must be one non-empty line")
            if len(reason) > MAX_REASON:
                raise UsageError(f"{where} ({check}): reason over {MAX_REASON} characters")
            if section == "excused" and impacts[check] in SEVERE:
                raise UsageError(
                    f"{where}: {check} is {impacts[check]}: fix it, or if Slither is wrong "
                    "list it under false_positives pinned to the statement"
                )
            if not isinstance(at, list) or not at or not all(isinstance(a, str) for a in at):
                raise UsageError(f"{where} ({check}): `at` must be a non-empty list of strings")
            for item in at:
                location, _, statement = (part.strip() for part in item.partition(" | "))
                excuse = Excuse(section, check, location, statement or None, reason.strip())
                if excuse.key in seen:
                    raise UsageError(f"{where}: {excuse.key} is listed twice")
                seen.add(excuse.key)
                excuses.append(excuse)
    return excuses


@dataclass
class Verdict:
    unexcused: list[Finding]
    stale: list[Excuse]
    excused: list[tuple[Finding, list[Excuse]]]

    @property
    def ok(self) -> bool:
        return not self.unexcused and not self.stale


def judge(findings: list[Finding], excuses: list[Excuse]) -> Verdict:
    used: set[Excuse] = set()
    unexcused: list[Finding] = []
    excused: list[tuple[Finding, list[Excuse]]] = []
    for finding in findings:
        matching = [e for e in excuses if e.matches(finding)]
        if matching:
            excused.append((finding, matching))
            used.update(matching)
        else:
            unexcused.append(finding)
    return Verdict(unexcused, [e for e in excuses if e not in used], excused)


# --------------------------------------------------------------------------- report


def _suggestion(finding: Finding) -> str:
    if finding.impact in SEVERE and finding.statements:
        return f"{finding.location} | {sorted(finding.statements)[0]}"
    return finding.location


def report(
    verdict: Verdict,
    findings: list[Finding],
    dependency_only: int,
    excuses: list[Excuse],
    triage: Path,
    out: Any = sys.stdout,
) -> None:
    counts = Counter(f.impact for f in findings)
    print(
        "project findings: "
        + ", ".join(f"{impact} {counts[impact]}" for impact in IMPACTS)
        + f" ({dependency_only} in node_modules only, not judged)",
        file=out,
    )
    false_positives = sum(1 for _, es in verdict.excused if es[0].section != "excused")
    print(
        f"triaged: {len(verdict.excused)} ({false_positives} false positives, "
        f"{len(verdict.excused) - false_positives} excused) by {len(excuses)} entries "
        f"in {triage.name}",
        file=out,
    )
    severe = [f for f in verdict.unexcused if f.impact in SEVERE]
    other = [f for f in verdict.unexcused if f.impact not in SEVERE]
    if severe:
        print(f"\nFAIL: {len(severe)} new High/Medium finding(s); fix them:", file=out)
        for finding in severe:
            print(f"  [{finding.impact}] {finding.check} @ {_suggestion(finding)}", file=out)
            print(f"      {finding.first_line}", file=out)
    if other:
        print(
            f"\nFAIL: {len(other)} finding(s) not in {triage.name}; fix them or add them to "
            "`excused` with a one-line reason:",
            file=out,
        )
        for finding in other:
            print(f"  [{finding.impact}] {finding.check} @ {_suggestion(finding)}", file=out)
            print(f"      {finding.first_line}", file=out)
    if verdict.stale:
        print(
            f"\nFAIL: {len(verdict.stale)} stale entr(y/ies) in {triage.name} match nothing; "
            "delete them:",
            file=out,
        )
        for excuse in verdict.stale:
            print(f"  {excuse.section}: {excuse.key}", file=out)
    if verdict.ok:
        print("OK: no High/Medium finding beyond the listed false positives; all triaged", file=out)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=here.parents[1], help="project folder")
    parser.add_argument("--solc", type=Path, help="solc (default: ~/.solcx/solc-v<version>)")
    parser.add_argument("--triage", type=Path, help="default: <root>/tools/slither/triage.yaml")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("CryticCompile").setLevel(logging.ERROR)  # solc's warnings: Ape shows them

    root: Path = args.root.resolve()
    try:
        project = load_project(root)
        solc = (args.solc or default_solc(project.solc_version)).absolute()
        if not os.access(solc, os.X_OK):
            raise UsageError(f"solc not found at {solc}: run `make solc` (or pass --solc)")
        classes = detector_classes()
        impacts = {cls.ARGUMENT: _impact_name(cls.IMPACT) for cls in classes}
        triage = args.triage or root / "tools" / "slither" / "triage.yaml"
        excuses = load_triage(triage, impacts)

        print(
            f"slither {metadata.version('slither-analyzer')}, {len(classes)} detectors, "
            f"{len(project.sources)} files ({', '.join(project.sources)}); "
            f"not {project.excluded}/ (mocks and hostile tokens, misbehaving on purpose)"
        )
        slither = analyse(project, solc)
    except UsageError as err:
        print(f"slither gate: {err}", file=sys.stderr)
        return 2

    broken = sorted(
        c.name
        for c in slither.contracts
        if c.is_incorrectly_constructed and c.source_mapping.filename.relative in project.sources
    )
    if broken:
        print(f"FAIL: Slither could not fully analyse {', '.join(broken)} (see its errors above)")
        return 1

    for cls in classes:
        slither.register_detector(cls)
    results = [result for per_detector in slither.run_detectors() for result in per_detector]
    findings, dependency_only = project_findings(results)
    verdict = judge(findings, excuses)
    report(verdict, findings, dependency_only, excuses, triage)
    return 0 if verdict.ok else 1


def _impact_name(impact: DetectorClassification) -> str:
    return {
        DetectorClassification.HIGH: "High",
        DetectorClassification.MEDIUM: "Medium",
        DetectorClassification.LOW: "Low",
        DetectorClassification.INFORMATIONAL: "Informational",
        DetectorClassification.OPTIMIZATION: "Optimization",
    }[impact]


if __name__ == "__main__":
    sys.exit(main())
