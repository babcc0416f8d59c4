"""solc source maps: which source range each instruction of a bytecode came from.

A source map holds one ``s:l:f:j:m`` entry per instruction (not per byte); empty fields
repeat the previous entry. ``f`` is a solc source id, or the id of a compiler-generated
Yul source (via-IR utility code), or -1 when no source applies.
"""

from __future__ import annotations

from dataclasses import dataclass

PUSH1, PUSH32 = 0x60, 0x7F
ISZERO = 0x15
CALL_OPS = frozenset({0xF1, 0xF2, 0xF4, 0xFA})  # CALL, CALLCODE, DELEGATECALL, STATICCALL
JUMP, JUMPI, JUMPDEST = 0x56, 0x57, 0x5B
STOP, RETURN, REVERT, INVALID, SELFDESTRUCT = 0x00, 0xF3, 0xFD, 0xFE, 0xFF
HALTS = frozenset({STOP, RETURN, REVERT, INVALID, SELFDESTRUCT})


@dataclass(frozen=True)
class Instruction:
    pc: int
    op: int
    push: int | None  # the pushed value of a PUSHn
    start: int  # source byte offset
    length: int
    file: int  # solc source id; -1 when none
    jump: str  # "i" into a function, "o" out of one, "-" a plain jump

    @property
    def size(self) -> int:
        return 1 + (self.op - PUSH1 + 1 if PUSH1 <= self.op <= PUSH32 else 0)


def instructions(code: bytes, source_map: str) -> dict[int, Instruction]:
    """Decode ``code`` with its source map: pc -> instruction.

    Instructions past the last source map entry (the CBOR metadata and, in creation code,
    the runtime code that the constructor returns) are data and are left out.
    """
    out: dict[int, Instruction] = {}
    start, length, file, jump = 0, 0, -1, "-"
    pc = 0
    for entry in source_map.split(";"):
        if pc >= len(code):
            break
        fields = entry.split(":")
        if len(fields) > 0 and fields[0]:
            start = int(fields[0])
        if len(fields) > 1 and fields[1]:
            length = int(fields[1])
        if len(fields) > 2 and fields[2]:
            file = int(fields[2])
        if len(fields) > 3 and fields[3]:
            jump = fields[3]
        op = code[pc]
        push = None
        size = 1
        if PUSH1 <= op <= PUSH32:
            size += op - PUSH1 + 1
            push = int.from_bytes(code[pc + 1 : pc + size].ljust(size - 1, b"\0"), "big")
        out[pc] = Instruction(pc, op, push, start, length, file, jump)
        pc += size
    return out
