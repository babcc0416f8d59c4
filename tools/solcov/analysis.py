"""From executed pcs to source coverage: statements, lines and branches of each source file.

Statements and branch points come from solc's AST; the bytecode is tied to them by the
source map (see ``docs/coverage.md`` for the method and its limits).

Statements. Each instruction belongs to the innermost statement whose source range holds
the instruction's range; instructions that map to a whole function, the contract or
compiler-generated Yul belong to none. A statement with instructions is hit when one of
them ran. The optimiser leaves some statements without instructions of their own (an
inlined internal call, storage writes packed into one SSTORE, a ``return`` of a value
already on the stack). Such a statement is still measured when it can be inferred: it ran
if a later statement of the same block ran (statements of a block run in order); the first
statement of a block ran if the branch outcome entering the block ran, if code of the block
ran, or, in a function without modifiers, if the function was called (its selector was
dispatched to; a constructor: its contract was created); a call to an internal function
called from nowhere else ran if that function's body did. Otherwise the statement is
listed as not measurable and left out of the totals.

Branches. A branch point is an ``if``, a ``?:``, a short-circuit ``&&``/``||``, a loop, a
``try`` or a ``require``/``assert``. Its JUMPIs are those whose source range is exactly the
node's (a loop's: its condition's; a ``try``'s: the JUMPI on the external call's success).
Inlining can copy one branch point into several JUMPIs; they count as one branch point
with two outcomes. An outcome is covered when a JUMPI direction that leads to it ran, or
when one JUMPI ran both ways. Which outcome a direction leads to is read from the code
that ran right after it (kept by the tracer) or, for a direction that never ran, from the
bytecode: the first instruction that maps inside the node's parts (the ``if`` body, the
right operand, ...) or into a function only those parts call, or past the node in the
same function, decides; for ``if (...) revert``, a direction that reaches REVERT with no
other conditional jump on the way is the failing one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from solcov.build import Build, Code
from solcov.collect import FALLTHROUGH, REVERTED, TAKEN, CodeHits
from solcov.sourcemap import (
    CALL_OPS,
    HALTS,
    INVALID,
    ISZERO,
    JUMP,
    JUMPI,
    REVERT,
    Instruction,
)

STATEMENTS = frozenset(
    {
        "ExpressionStatement",
        "VariableDeclarationStatement",
        "Return",
        "EmitStatement",
        "RevertStatement",
        "IfStatement",
        "ForStatement",
        "WhileStatement",
        "DoWhileStatement",
        "Break",
        "Continue",
        "TryStatement",
        "InlineAssembly",
    }
)
BLOCKS = frozenset({"Block", "UncheckedBlock"})
LOOPS = frozenset({"ForStatement", "WhileStatement", "DoWhileStatement"})
# The two outcomes of each kind of branch point; the second is the one reached by going
# past the node (for kinds where that means something).
OUTCOMES = {
    "if": ("true", "false"),
    "?:": ("true", "false"),
    "&&": ("right side evaluated", "short-circuited"),
    "||": ("right side evaluated", "short-circuited"),
    "require": ("fails", "holds"),
    "assert": ("fails", "holds"),
    "loop": ("iterates", "exits"),
    "try": ("succeeds", "fails"),
}
PATH_LENGTH = 64  # instructions followed in the bytecode from a direction that never ran

Range = tuple[int, int]  # (start, length) in bytes of the source
Place = tuple[int, Range]  # (solc source id, range)


def _range(node: dict[str, Any]) -> Range:
    start, length, _ = node["src"].split(":")
    return int(start), int(length)


def _place(node: dict[str, Any]) -> Place:
    start, length, source = node["src"].split(":")
    return int(source), (int(start), int(length))


def _inside(inner: Range, outer: Range) -> bool:
    return outer[0] <= inner[0] and inner[0] + inner[1] <= outer[0] + outer[1]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "nodeType" in node:
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# ---------------------------------------------------------------------------------------------
# The source side
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    path: str
    range: Range
    kind: str
    line: int


@dataclass
class BranchPoint:
    path: str
    range: Range  # the whole node
    kind: str  # a key of OUTCOMES
    line: int
    parts: dict[str, Range]  # where an outcome's own code lies (the if body, ...)
    within: Range  # code that has not decided yet (the condition)
    anchor: Range  # the range its JUMPIs map to: the node, a loop's condition, a try's call
    function: Range  # the function or modifier it is in
    reverts: bool = False  # its first outcome always reverts (``if (c) revert ...;``)
    callees: dict[str, set[Place]] = field(
        default_factory=dict
    )  # outcome -> functions only it calls


@dataclass
class Function:
    path: str
    range: Range
    name: str
    line: int
    body: Range
    contract: str
    selector: str | None  # "0x..." for external and public functions


@dataclass
class SourceFile:
    path: str
    text: str
    statements: list[Statement] = field(default_factory=list)
    branches: list[BranchPoint] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    # What shows that a statement without code of its own ran (any of them):
    # ("later", Statement): a later statement of the same block ran;
    # ("outcome", (anchor, outcome)): the branch outcome that enters its block ran;
    # ("body", (path, range)): code inside that function body ran (its block's entry, or the
    # body of the internal function it alone calls);
    # ("function", (path, range)): code of that function (without modifiers) ran.
    evidence: dict[Statement, list[tuple[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._starts = [0]
        for i, byte in enumerate(self.text.encode()):
            if byte == 0x0A:
                self._starts.append(i + 1)

    def line_of(self, offset: int) -> int:
        low, high = 0, len(self._starts)
        while high - low > 1:
            mid = (low + high) // 2
            if self._starts[mid] <= offset:
                low = mid
            else:
                high = mid
        return low + 1

    def line_text(self, line: int) -> str:
        return self.text.splitlines()[line - 1].strip()

    def snippet(self, where: Range, limit: int = 90) -> str:
        text = " ".join(self.text.encode()[where[0] : where[0] + where[1]].decode().split())
        return text if len(text) <= limit else text[: limit - 3] + "..."


def _always_reverts(node: dict[str, Any]) -> bool:
    """A statement (or block) that ends in ``revert``."""
    if node["nodeType"] in BLOCKS:
        return bool(node["statements"]) and _always_reverts(node["statements"][-1])
    if node["nodeType"] == "RevertStatement":
        return True
    if node["nodeType"] == "ExpressionStatement":
        call = node["expression"]
        return call["nodeType"] == "FunctionCall" and call["expression"].get("name") == "revert"
    return False


class _CallGraph:
    """Internal and library functions each function calls, over every source."""

    def __init__(self, asts: dict[str, dict[str, Any]]) -> None:
        self.places: dict[int, Place] = {}
        self.calls: dict[int, set[int]] = {}
        self.bodies: dict[int, tuple[str, Range]] = {}  # internal functions' bodies
        self.callers: dict[int, int] = {}  # function -> number of call sites
        for path, ast in asts.items():
            for node in _walk(ast):
                if node["nodeType"] in ("FunctionDefinition", "ModifierDefinition"):
                    self.places[node["id"]] = _place(node)
                    self.calls[node["id"]] = self.direct(node)
                    internal = node.get("visibility") in ("internal", "private")
                    if internal and node.get("body") and node["nodeType"] == "FunctionDefinition":
                        self.bodies[node["id"]] = (path, _range(node["body"]))
                if node["nodeType"] == "FunctionCall":
                    target = node["expression"].get("referencedDeclaration")
                elif node["nodeType"] == "ModifierInvocation":
                    target = node["modifierName"].get("referencedDeclaration")
                else:
                    continue
                if isinstance(target, int):
                    self.callers[target] = self.callers.get(target, 0) + 1

    @staticmethod
    def direct(node: dict[str, Any]) -> set[int]:
        out = set()
        for call in _walk(node):
            if call["nodeType"] == "FunctionCall":
                target = call["expression"].get("referencedDeclaration")
                if isinstance(target, int):
                    out.add(target)
            elif call["nodeType"] == "ModifierInvocation":
                target = call["modifierName"].get("referencedDeclaration")
                if isinstance(target, int):
                    out.add(target)
        return out

    def closure(self, roots: set[int]) -> set[int]:
        seen: set[int] = set()
        todo = [r for r in roots if r in self.places]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(c for c in self.calls.get(current, ()) if c in self.places)
        return seen


def _branch(
    source: SourceFile, node: dict[str, Any], function: dict[str, Any], graph: _CallGraph
) -> BranchPoint | None:
    kind = node["nodeType"]
    here = _range(node)
    line = source.line_of(here[0])
    where = _range(function)
    part_nodes: dict[str, dict[str, Any]] = {}
    if kind == "IfStatement":
        part_nodes["true"] = node["trueBody"]
        if node.get("falseBody"):
            part_nodes["false"] = node["falseBody"]
        reverts = not node.get("falseBody") and _always_reverts(node["trueBody"])
        point = BranchPoint(
            source.path, here, "if", line, {}, _range(node["condition"]), here, where, reverts
        )
    elif kind == "Conditional":
        part_nodes = {"true": node["trueExpression"], "false": node["falseExpression"]}
        point = BranchPoint(
            source.path, here, "?:", line, {}, _range(node["condition"]), here, where
        )
    elif kind == "BinaryOperation" and node["operator"] in ("&&", "||"):
        part_nodes = {"right side evaluated": node["rightExpression"]}
        left = _range(node["leftExpression"])
        point = BranchPoint(source.path, here, node["operator"], line, {}, left, here, where)
    elif kind == "FunctionCall" and node["expression"].get("name") in ("require", "assert"):
        args = node["arguments"]
        if len(args) > 1:
            part_nodes["fails"] = args[1]
        name = node["expression"]["name"]
        point = BranchPoint(source.path, here, name, line, {}, _range(args[0]), here, where, True)
    elif kind in LOOPS and node.get("condition"):
        part_nodes = {"iterates": node["body"]}
        condition = _range(node["condition"])
        point = BranchPoint(source.path, here, "loop", line, {}, condition, condition, where)
    elif kind == "TryStatement":
        call = _range(node["externalCall"])
        line = source.line_of(call[0])
        point = BranchPoint(source.path, here, "try", line, {}, call, call, where)
    else:
        return None
    point.parts = {outcome: _range(part) for outcome, part in part_nodes.items()}
    # Functions reached only through one outcome's code: running one of them decides.
    inside = {o: graph.closure(graph.direct(part)) for o, part in part_nodes.items()}
    outside = graph.closure(_calls_outside(function, list(part_nodes.values())))
    for outcome, ids in inside.items():
        others = set().union(*(v for o, v in inside.items() if o != outcome))
        point.callees[outcome] = {graph.places[i] for i in ids - others - outside}
    point.after = {graph.places[i] for i in outside - set().union(*inside.values())}
    return point


def _calls_outside(function: dict[str, Any], parts: list[dict[str, Any]]) -> set[int]:
    """Functions (and modifiers) ``function`` calls outside the given part nodes."""
    excluded = {id(n) for part in parts for n in _walk(part)}
    out = set()
    for node in _walk(function):
        if id(node) in excluded:
            continue
        if node["nodeType"] == "FunctionCall":
            target = node["expression"].get("referencedDeclaration")
        elif node["nodeType"] == "ModifierInvocation":
            target = node["modifierName"].get("referencedDeclaration")
        else:
            continue
        if isinstance(target, int):
            out.add(target)
    return out


def _evidence(source: SourceFile, ast: dict[str, Any], graph: _CallGraph) -> None:
    """What can show that each statement ran, when it has no code of its own."""
    by_range = {s.range: s for s in source.statements}

    contract = ""  # the contract being visited

    def note(statement: Statement | None, kind: str, value: Any) -> None:
        if statement is not None:
            source.evidence.setdefault(statement, []).append((kind, value))

    def visit(node: dict[str, Any], entry: tuple[str, Any] | None) -> None:
        kind = node["nodeType"]
        if kind in BLOCKS:
            statements = [by_range.get(_range(s)) for s in node["statements"]]
            for i, child in enumerate(node["statements"]):
                for later in statements[i + 1 :]:
                    if later is not None:
                        note(statements[i], "later", later)
                if i == 0 and entry is not None:
                    note(statements[i], *entry)
                visit(child, None)
            return
        if kind in ("FunctionDefinition", "ModifierDefinition") and node.get("body"):
            first = node["body"]["statements"][:1]
            if first and not node.get("modifiers"):
                # No modifier can stop it: the function ran, so its first statement did.
                statement = by_range.get(_range(first[0]))
                note(statement, "function", (source.path, _range(node)))
                if node.get("functionSelector"):
                    note(statement, "selector", (contract, "0x" + node["functionSelector"]))
                if node.get("kind") == "constructor":
                    note(statement, "creation", contract)
            visit(node["body"], ("body", (source.path, _range(node["body"]))))
            return
        if kind == "IfStatement":
            visit_body(node["trueBody"], ("outcome", (_range(node), "true")))
            if node.get("falseBody"):
                visit_body(node["falseBody"], ("outcome", (_range(node), "false")))
            return
        if kind in LOOPS and node.get("condition"):
            visit_body(node["body"], ("outcome", (_range(node["condition"]), "iterates")))
            return
        for value in node.values():
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, dict) and "nodeType" in child:
                    visit(child, None)

    def visit_body(body: dict[str, Any], entry: tuple[str, Any]) -> None:
        if body["nodeType"] in BLOCKS:
            visit(body, entry)
            return
        note(by_range.get(_range(body)), *entry)
        visit(body, None)

    for node in ast["nodes"]:
        if node["nodeType"] == "ContractDefinition":
            contract = node["name"]
            visit(node, None)
    # A call to an internal function that nothing else calls ran if that function's body did.
    for node in _walk(ast):
        if node["nodeType"] != "ExpressionStatement":
            continue
        call = node["expression"]
        if call["nodeType"] != "FunctionCall":
            continue
        target = call["expression"].get("referencedDeclaration")
        body = graph.bodies.get(target) if isinstance(target, int) else None
        if body is not None and graph.callers.get(target) == 1:
            note(by_range.get(_range(node)), "body", body)


def parse(path: str, text: str, ast: dict[str, Any], graph: _CallGraph) -> SourceFile:
    """Statements, branch points and functions of one source file."""
    source = SourceFile(path, text)
    for contract in ast["nodes"]:
        if contract["nodeType"] != "ContractDefinition":
            continue
        for function in _walk(contract):
            if function["nodeType"] not in ("FunctionDefinition", "ModifierDefinition"):
                continue
            if not function.get("body"):
                continue
            here = _range(function)
            name = function.get("name") or function.get("kind", "")
            selector = function.get("functionSelector")
            source.functions.append(
                Function(
                    path,
                    here,
                    name,
                    source.line_of(here[0]),
                    _range(function["body"]),
                    contract["name"],
                    "0x" + selector if selector else None,
                )
            )
            for node in _walk(function["body"]):
                if node["nodeType"] in STATEMENTS:
                    start = _range(node)
                    source.statements.append(
                        Statement(path, start, node["nodeType"], source.line_of(start[0]))
                    )
                if branch := _branch(source, node, function, graph):
                    source.branches.append(branch)
    _evidence(source, ast, graph)
    return source


# ---------------------------------------------------------------------------------------------
# The bytecode side: which instructions stand for which statement and which branch point
# ---------------------------------------------------------------------------------------------

CodeKey = tuple[str, str]  # (contract, "runtime" | "creation")


@dataclass
class Anchor:
    """One JUMPI of a branch point; ``static`` labels its directions from the bytecode alone."""

    code: CodeKey
    pc: int
    static: dict[int, str | None]  # TAKEN / FALLTHROUGH -> outcome


@dataclass
class Mapping:
    """What in the bytecodes stands for what in the sources."""

    build: Build
    files: dict[str, SourceFile]
    statement_pcs: dict[Statement, set[tuple[CodeKey, int]]] = field(default_factory=dict)
    function_pcs: dict[tuple[str, Range], set[tuple[CodeKey, int]]] = field(default_factory=dict)
    body_pcs: dict[tuple[str, Range], set[tuple[CodeKey, int]]] = field(default_factory=dict)
    anchors: dict[tuple[str, Range], list[Anchor]] = field(default_factory=dict)
    checks: dict[str, list[tuple[CodeKey, int]]] = field(default_factory=dict)


def _innermost(statements: list[Statement], here: Range) -> Statement | None:
    best = None
    for statement in statements:
        if _inside(here, statement.range) and (best is None or statement.range[1] < best.range[1]):
            best = statement
    return best


def _previous(code: Code, pc: int) -> Instruction | None:
    """The instruction right before ``pc``."""
    for size in range(1, 34):
        instruction = code.instructions.get(pc - size)
        if instruction is not None:
            return instruction if instruction.pc + instruction.size == pc else None
    return None


def _static_path(code: Code, pc: int) -> list[int]:
    """The pcs the bytecode runs from ``pc`` on, as far as they follow from the code alone
    (through jumps to pushed destinations, into internal functions; not past a JUMPI or a
    return); ends with REVERTED when it reaches REVERT or INVALID."""
    path: list[int] = []
    previous = None
    while len(path) < PATH_LENGTH:
        instruction = code.instructions.get(pc)
        if instruction is None or pc in path:
            break
        path.append(pc)
        if instruction.op in (REVERT, INVALID):
            path.append(REVERTED)
            break
        if instruction.op in HALTS or instruction.op == JUMPI:
            break
        if instruction.op == JUMP:
            if previous is None or previous.push is None:
                break
            previous, pc = None, previous.push
            continue
        previous = instruction
        pc += instruction.size
    return path


def _decide(
    code: Code, path: list[int], file: int, point: BranchPoint, user: frozenset[int]
) -> str | None:
    """The outcome of ``point`` that the run of pcs ``path`` (from a JUMPI direction) is in.

    The first instruction that maps into an outcome's part (or into a function only that
    part calls) decides. Code past the node (in its function, or a function only called
    outside the parts) decides for the outcome of going past, but only if no other
    function's code ran before it: that code may be the part's, shared with another place.
    """
    first, past = OUTCOMES[point.kind]
    if (point.kind == "if" and "false" in point.parts) or point.kind in ("?:", "try"):
        past = ""  # going past the node says nothing
    conditional = any(
        code.instructions[pc].op == JUMPI for pc in path if pc >= 0 and pc in code.instructions
    )
    if point.reverts and path and path[-1] == REVERTED and not conditional:
        return first
    elsewhere = False  # code of another function ran first
    for pc in path:
        instruction = code.instructions.get(pc)
        if instruction is None or instruction.file not in user:
            continue  # compiler-generated code
        here = (instruction.start, instruction.length)
        mine = instruction.file == file
        if mine and (_inside(point.range, here) or _inside(here, point.within)):
            continue  # the node itself or an enclosing one; the condition
        if mine:
            for outcome, part in point.parts.items():
                if _inside(here, part):
                    return outcome
            if _inside(here, point.range):
                if point.kind in ("require", "assert"):
                    return first  # the error's arguments are built on the failing path only
                continue
            if _inside(here, point.function):
                return past if past and not elsewhere else None
        for outcome, callees in point.callees.items():
            if any(source == instruction.file and _inside(here, at) for source, at in callees):
                return outcome
        if any(source == instruction.file and _inside(here, at) for source, at in point.after):
            return past if past and not elsewhere else None
        elsewhere = True
    return None


def _try_polarity(code: Code, pc: int) -> dict[int, str | None] | None:
    """A try's own JUMPI tests the external call's success flag: ``CALL [ISZERO] PUSH JUMPI``."""
    push = _previous(code, pc)
    if push is None or push.push is None:
        return None
    before = _previous(code, push.pc)
    negated = before is not None and before.op == ISZERO
    if negated:
        before = _previous(code, before.pc)
    if before is None or before.op not in CALL_OPS:
        return None
    succeeds = FALLTHROUGH if negated else TAKEN
    return {succeeds: "succeeds", TAKEN + FALLTHROUGH - succeeds: "fails"}


def _opposite(kind: str, outcome: str) -> str:
    a, b = OUTCOMES[kind]
    return b if outcome == a else a


def resolve(labels: dict[int, str | None], kind: str) -> dict[int, str | None]:
    """Complete a JUMPI's labels: its two directions lead to opposite outcomes."""
    taken, fall = labels.get(TAKEN), labels.get(FALLTHROUGH)
    if taken is not None and fall is not None and taken == fall:
        return {TAKEN: None, FALLTHROUGH: None}  # contradictory: trust only both-ways runs
    if taken is None and fall is not None:
        taken = _opposite(kind, fall)
    if fall is None and taken is not None:
        fall = _opposite(kind, taken)
    return {TAKEN: taken, FALLTHROUGH: fall}


def build_mapping(build: Build, paths: list[str]) -> Mapping:
    """Map every instruction of every bytecode in ``build`` onto the files in ``paths``."""
    graph = _CallGraph(build.asts)
    files = {p: parse(p, build.texts[p], build.asts[p], graph) for p in paths}
    mapping = Mapping(build, files)
    ids = {build.source_id(p): p for p in paths}
    for source in files.values():
        for statement in source.statements:
            mapping.statement_pcs[statement] = set()
        for function in source.functions:
            mapping.function_pcs[(source.path, function.range)] = set()
            mapping.body_pcs[(source.path, function.body)] = set()
        for point in source.branches:
            mapping.anchors.setdefault((source.path, point.anchor), [])
        mapping.checks[source.path] = []
    innermost: dict[tuple[str, Range], Statement | None] = {}
    for key, code in build.codes.items():
        for pc, instruction in code.instructions.items():
            path = ids.get(instruction.file)
            if path is None:
                continue
            source = files[path]
            here = (instruction.start, instruction.length)
            if (path, here) not in innermost:
                innermost[(path, here)] = _innermost(source.statements, here)
            if statement := innermost[(path, here)]:
                mapping.statement_pcs[statement].add((key, pc))
            for function in source.functions:
                if _inside(here, function.range):
                    mapping.function_pcs[(path, function.range)].add((key, pc))
                    if _inside(here, function.body):
                        mapping.body_pcs[(path, function.body)].add((key, pc))
            if instruction.op != JUMPI:
                continue
            point = next((b for b in source.branches if b.anchor == here), None)
            labels: dict[int, str | None] | None
            if point is None:
                labels = None
            elif point.kind == "try":
                labels = _try_polarity(code, pc)
            else:
                labels = _labels(code, pc, instruction.file, point, frozenset(build.sources))
            if point is None or labels is None:
                mapping.checks[path].append((key, pc))  # a compiler-generated check
                continue
            mapping.anchors[(path, point.anchor)].append(Anchor(key, pc, labels))
    _adopt(mapping)
    return mapping


def _labels(
    code: Code, pc: int, file: int, point: BranchPoint, user: frozenset[int]
) -> dict[int, str | None]:
    target = _previous(code, pc)
    paths_from = {FALLTHROUGH: _static_path(code, pc + 1)}
    if target is not None and target.push is not None:
        paths_from[TAKEN] = _static_path(code, target.push)
    decided = {d: _decide(code, p, file, point, user) for d, p in paths_from.items()}
    return resolve(decided, point.kind)


def _adopt(mapping: Mapping) -> None:
    """Branch points with no JUMPI of their own range take the JUMPI that tests their
    condition: one mapped inside the condition (``if (i + 1 < count)`` may map its JUMPI to
    the comparison), or one mapped to the whole function or contract right after code of the
    condition (an ``assert`` inlined from a compiler helper)."""
    for path, checks in mapping.checks.items():
        source = mapping.files[path]
        orphans = [
            b for b in source.branches if b.kind != "try" and not mapping.anchors[(path, b.anchor)]
        ]
        if not orphans:
            continue
        kept = []
        for key, pc in checks:
            code = mapping.build.codes[key]
            jumpi = code.instructions[pc]
            here = (jumpi.start, jumpi.length)
            push = _previous(code, pc)
            condition = _previous(code, push.pc) if push is not None and push.push else None
            candidates = [
                b
                for b in orphans
                if _inside(here, b.within)
                or (
                    _inside(b.range, here)
                    and condition is not None
                    and condition.file == jumpi.file
                    and _inside((condition.start, condition.length), b.within)
                )
            ]
            if not candidates:
                kept.append((key, pc))
                continue
            point = min(candidates, key=lambda b: b.within[1])
            labels = _labels(code, pc, jumpi.file, point, frozenset(mapping.build.sources))
            mapping.anchors[(path, point.anchor)].append(Anchor(key, pc, labels))
        mapping.checks[path] = kept


# ---------------------------------------------------------------------------------------------
# What ran
# ---------------------------------------------------------------------------------------------


@dataclass
class BranchResult:
    point: BranchPoint
    covered: dict[str, bool]  # outcome -> covered
    jumps: int  # JUMPIs standing for it
    reached: bool  # one of them ran
    unnamed: bool  # a direction ran whose outcome could not be told


@dataclass
class FileResult:
    path: str
    lines: dict[int, bool]  # executable line -> hit
    statements: dict[Statement, bool]  # measured statements -> hit
    inferred: set[Statement]  # measured without code of their own
    unmeasured: list[Statement]  # no code of their own and nothing to infer from
    branches: list[BranchResult]
    not_in_bytecode: list[BranchPoint]  # branch points compiled without a conditional jump
    functions: dict[str, bool]  # "name (line N)" -> hit
    checks: tuple[int, int]  # compiler-generated JUMPIs: directions run, directions total

    @property
    def line_figures(self) -> tuple[int, int]:
        return sum(self.lines.values()), len(self.lines)

    @property
    def branch_figures(self) -> tuple[int, int]:
        hit = sum(sum(b.covered.values()) for b in self.branches)
        return hit, sum(len(b.covered) for b in self.branches)


def _branch_result(
    mapping: Mapping, point: BranchPoint, anchors: list[Anchor], hits: dict[CodeKey, CodeHits]
) -> BranchResult:
    file = mapping.build.source_id(point.path)
    covered = dict.fromkeys(OUTCOMES[point.kind], False)
    reached = unnamed = False
    for anchor in anchors:
        code_hits = hits.get(anchor.code)
        bits = code_hits.jumpi.get(anchor.pc, 0) if code_hits else 0
        if not bits:
            continue
        reached = True
        if bits == TAKEN | FALLTHROUGH:
            covered = dict.fromkeys(covered, True)
            continue
        code = mapping.build.codes[anchor.code]
        sample = code_hits.samples.get((anchor.pc, bits)) if code_hits else None
        user = frozenset(mapping.build.sources)
        outcome = _decide(code, sample, file, point, user) if sample else None
        if outcome is None:
            outcome = anchor.static.get(bits)
        if outcome is None:
            unnamed = True
        else:
            covered[outcome] = True
    return BranchResult(
        point, covered, len(anchors), reached, unnamed and not all(covered.values())
    )


def coverage(mapping: Mapping, hits: dict[CodeKey, CodeHits]) -> dict[str, FileResult]:
    """Coverage of each mapped file, given the hits of each bytecode."""

    def ran(code: CodeKey, pc: int) -> bool:
        return code in hits and pc in hits[code].pcs

    called: dict[str, set[str]] = {}  # contract -> selectors it was called with
    for (name, kind), code_hits in hits.items():
        if kind == "runtime":
            called.setdefault(name, set()).update(code_hits.selectors)

    results = {}
    for path, source in mapping.files.items():
        branches = []
        not_in_bytecode = []
        outcome_ran: dict[tuple[Range, str], bool] = {}
        for point in source.branches:
            anchors = mapping.anchors[(path, point.anchor)]
            if not anchors:
                not_in_bytecode.append(point)
                continue
            result = _branch_result(mapping, point, anchors, hits)
            branches.append(result)
            for outcome, covered in result.covered.items():
                outcome_ran[(point.anchor, outcome)] = covered

        measured: dict[Statement, bool] = {
            s: any(ran(code, pc) for code, pc in mapping.statement_pcs[s])
            for s in source.statements
            if mapping.statement_pcs[s]
        }
        inferred: set[Statement] = set()
        # Later statements first, so that inferences chain backwards through a block.
        for statement in sorted(source.statements, key=lambda s: -s.range[0]):
            if statement in measured:
                continue
            evidence = []
            for kind, value in source.evidence.get(statement, []):
                if kind == "later" and value in measured:
                    evidence.append(measured[value])
                elif kind == "outcome" and value in outcome_ran:
                    evidence.append(outcome_ran[value])
                elif kind == "body" and mapping.body_pcs.get(value):
                    evidence.append(any(ran(code, pc) for code, pc in mapping.body_pcs[value]))
                elif kind == "function" and mapping.function_pcs.get(value):
                    evidence.append(any(ran(code, pc) for code, pc in mapping.function_pcs[value]))
                elif kind == "selector":
                    name, selector = value
                    evidence.append(selector in called.get(name, set()))
                elif kind == "creation":
                    evidence.append(bool(hits.get((value, "creation"), CodeHits()).pcs))
            if evidence:
                measured[statement] = any(evidence)
                inferred.add(statement)
        unmeasured = [s for s in source.statements if s not in measured]

        lines: dict[int, bool] = {}
        for statement, hit in measured.items():
            lines[statement.line] = lines.get(statement.line, False) or hit
        functions = {
            f"{f.name} (line {f.line})": f.selector in called.get(f.contract, set())
            or any(ran(code, pc) for code, pc in mapping.function_pcs[(path, f.range)])
            for f in source.functions
            if mapping.function_pcs[(path, f.range)] or f.selector
        }
        checks = mapping.checks[path]
        run = sum(
            bin(hits[code].jumpi.get(pc, 0)).count("1") for code, pc in checks if code in hits
        )
        results[path] = FileResult(
            path=path,
            lines=dict(sorted(lines.items())),
            statements=measured,
            inferred=inferred,
            unmeasured=sorted(unmeasured, key=lambda s: s.range),
            branches=branches,
            not_in_bytecode=not_in_bytecode,
            functions=functions,
            checks=(run, 2 * len(checks)),
        )
    return results
