"""The compiler's view of the contracts: bytecode, source maps and ASTs.

Ape keeps only the creation bytecode's source map, so the contracts are compiled once more
here, through the same solc and with the settings Ape recorded in ``.build/__local__.json``
(via-IR, optimiser runs, EVM version) and the remappings of ape-config.yaml. Output
selection does not change the bytecode; the runtime code of every contract compiled here is
checked against Ape's build, and :func:`match_runtime` names the code seen on chain.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from solcov.sourcemap import Instruction, instructions

OUTPUT = [
    "evm.bytecode.object",
    "evm.bytecode.sourceMap",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.sourceMap",
    "evm.deployedBytecode.immutableReferences",
]


class BuildError(RuntimeError):
    """The contracts could not be compiled for coverage."""


@dataclass(frozen=True)
class Code:
    """One bytecode (runtime or creation) of one contract, decoded instruction by instruction."""

    contract: str
    kind: str  # "runtime" or "creation"
    bytecode: bytes
    instructions: dict[int, Instruction]  # pc -> instruction (only those the source map covers)
    masked: tuple[tuple[int, int], ...] = ()  # (start, length) of immutables in the runtime code


@dataclass
class Build:
    """Everything the mapping needs: sources by id and both bytecodes of every contract."""

    sources: dict[int, str]  # solc source id -> path as solc saw it (e.g. contracts/Tender.sol)
    texts: dict[str, str]  # path -> source text
    asts: dict[str, dict[str, Any]]  # path -> AST of every source (imports included)
    codes: dict[tuple[str, str], Code] = field(default_factory=dict)  # (contract, kind) -> code

    def source_id(self, path: str) -> int:
        for source_id, name in self.sources.items():
            if name == path:
                return source_id
        raise BuildError(f"{path} is not among the compiled sources")


def solc_binary(version: str) -> Path:
    """The solc that Ape uses: py-solc-x's ``solc-v<version>`` (the solc-js launcher here)."""
    folder = Path(os.environ.get("SOLCX_BINARY_PATH") or Path.home() / ".solcx")
    binary = folder / f"solc-v{version}"
    if not binary.exists():
        raise BuildError(f"{binary} is missing: run `make solc` (or `make compile`) first")
    return binary


def ape_settings(project: Path) -> tuple[str, list[dict[str, Any]], dict[str, str]]:
    """What Ape compiled with: the solc version, the candidate settings, and the runtime
    bytecode of every contract in its build.

    Ape records the settings of its last compilation batch, and puts remappings in them only
    when that batch used one; the metadata (and so the bytecode) of a contract depends on
    them. So both variants are candidates: with the remappings of ape-config.yaml, without.
    """
    manifest_path = project / ".build" / "__local__.json"
    if not manifest_path.exists():
        raise BuildError(f"{manifest_path} is missing: run `ape compile` first")
    manifest = json.loads(manifest_path.read_text())
    compilers = [c for c in manifest.get("compilers", []) if c.get("name") == "solidity"]
    if not compilers:
        raise BuildError(f"no solidity compilation in {manifest_path}: run `ape compile` first")
    version = compilers[0]["version"].split("+")[0]
    base = {k: v for k, v in compilers[0]["settings"].items() if k != "outputSelection"}
    base.pop("remappings", None)
    config = yaml.safe_load((project / "ape-config.yaml").read_text()) or {}
    remappings = sorted((config.get("solidity") or {}).get("import_remapping") or [])
    candidates = [{**base, "remappings": remappings}, base] if remappings else [base]
    runtime = {
        name: ct.get("runtimeBytecode", {}).get("bytecode", "0x")[2:]
        for name, ct in manifest.get("contractTypes", {}).items()
    }
    return version, candidates, runtime


def standard_input(
    project: Path, settings: dict[str, Any], files: list[str], targets: list[str]
) -> dict[str, Any]:
    """solc standard-JSON input for ``files`` with bytecode and source maps for ``targets``."""
    selection: dict[str, Any] = {"*": {"": ["ast"]}}  # every AST: calls reach libraries
    selection.update({path: {"*": OUTPUT, "": ["ast"]} for path in targets})
    return {
        "language": "Solidity",
        "sources": {path: {"content": (project / path).read_text()} for path in files},
        "settings": {**settings, "outputSelection": selection},
    }


def run_solc(project: Path, version: str, solc_input: dict[str, Any], cache: Path | None) -> dict:
    """Compile (or reuse a cached output for exactly this input)."""
    text = json.dumps(solc_input, sort_keys=True)
    cached = None
    if cache is not None:
        digest = hashlib.sha256(f"{version}\n{text}".encode()).hexdigest()[:16]
        cached = cache / f"solc-output-{digest}.json"
        if cached.exists():
            return json.loads(cached.read_text())
    result = subprocess.run(
        [str(solc_binary(version)), "--standard-json", "--base-path", str(project)],
        input=text,
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"solc failed: {result.stderr.strip() or result.stdout[:500]}")
    output = json.loads(result.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise BuildError("solc: " + errors[0].get("formattedMessage", errors[0]["message"]))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(output))
    return output


def compile_project(project: Path, targets: list[str], cache: Path | None = None) -> Build:
    """Compile ``targets`` as Ape did, with source maps, and check the bytecode is Ape's.

    Args:
        project: the project folder (holds ape-config.yaml and .build/).
        targets: source paths (relative to ``project``) to produce bytecode for; their
            imports are compiled too, but only these get code generated.
        cache: a folder for the compiler's output, reused while the input is unchanged.

    Returns:
        The build: sources, ASTs and decoded bytecode of every contract in ``targets``.

    Raises:
        BuildError: Ape has not compiled yet, solc is missing or rejects the input, or no
            settings give the bytecode Ape built.
    """
    version, candidates, ape_runtime = ape_settings(project)
    missing = [t for t in targets if not (project / t).is_file()]
    if missing:
        raise BuildError(f"{', '.join(missing)}: no such file under {project}")
    differs = ""
    for settings in candidates:
        solc_input = standard_input(project, settings, targets, targets)
        output = run_solc(project, version, solc_input, cache)
        differs = _differs_from_ape(output, targets, ape_runtime)
        if not differs:
            return _build(project, output, targets)
    raise BuildError(
        f"solc's bytecode for {differs} differs from Ape's build: run `ape compile` (or"
        " `ape compile --force`) and try again"
    )


def _differs_from_ape(output: dict[str, Any], targets: list[str], ape: dict[str, str]) -> str:
    """The first contract whose runtime code is not what Ape built ("" if none)."""
    for path in targets:
        for name, contract in output.get("contracts", {}).get(path, {}).items():
            code = contract["evm"]["deployedBytecode"]["object"]
            if code and name not in ape:
                return f"{name} (not in .build/)"
            if code and ape[name] != code:
                return name
    return ""


def _build(project: Path, output: dict[str, Any], targets: list[str]) -> Build:
    sources = {entry["id"]: path for path, entry in output["sources"].items()}
    build = Build(
        sources=sources,
        texts={path: (project / path).read_text() for path in targets},
        asts={path: entry["ast"] for path, entry in output["sources"].items()},
    )
    for path in targets:
        for name, contract in output.get("contracts", {}).get(path, {}).items():
            evm = contract["evm"]
            for kind, key in (("runtime", "deployedBytecode"), ("creation", "bytecode")):
                code = bytes.fromhex(evm[key]["object"])
                if not code:
                    continue  # interfaces and abstract contracts
                masked = tuple(
                    (ref["start"], ref["length"])
                    for refs in evm[key].get("immutableReferences", {}).values()
                    for ref in refs
                )
                build.codes[(name, kind)] = Code(
                    contract=name,
                    kind=kind,
                    bytecode=code,
                    instructions=instructions(code, evm[key]["sourceMap"]),
                    masked=masked,
                )
    return build


def _masked(code: bytes, masked: tuple[tuple[int, int], ...]) -> bytes:
    out = bytearray(code)
    for start, length in masked:
        out[start : start + length] = bytes(length)
    return bytes(out)


def match_runtime(build: Build, onchain: bytes) -> str | None:
    """The contract whose runtime code ``onchain`` is (immutables ignored), if any."""
    for (name, kind), code in build.codes.items():
        if kind != "runtime" or len(code.bytecode) != len(onchain):
            continue
        if _masked(onchain, code.masked) == _masked(code.bytecode, code.masked):
            return name
    return None


def match_creation(build: Build, initcode: bytes) -> str | None:
    """The contract whose creation code ``initcode`` starts with (constructor arguments follow)."""
    for (name, kind), code in build.codes.items():
        if kind == "creation" and initcode.startswith(code.bytecode):
            return name
    return None
