"""The consortium's membership, threshold, policies and conflicts, replayed from its events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from procurechain.invariants.events import Event
from procurechain.invariants.selectors import ACCEPT


@dataclass
class Council:
    """The consortium's rules at one point of its history.

    Attributes:
        members: each member's role bits.
        threshold: how many signers an action needs.
        policies: by selector, (required role bits, 1-based subject argument or 0).
        conflicts: declared (member, subject) conflicts not lifted.
    """

    members: dict[str, int] = field(default_factory=dict)
    threshold: int = 0
    policies: dict[str, tuple[int, int]] = field(default_factory=dict)
    conflicts: set[tuple[str, str]] = field(default_factory=set)

    def roles(self, signers: Iterable[str]) -> int:
        """The role bits the signers hold between them (non-members hold none)."""
        held = 0
        for signer in signers:
            held |= self.members.get(signer, 0)
        return held

    def lacking(self, signers: Iterable[str], required: int) -> tuple[int, int]:
        """(the role bits the signers hold, the bits of ``required`` none of them holds)."""
        held = self.roles(signers)
        return held, required & ~held

    def strangers(self, signers: Iterable[str]) -> list[str]:
        """The signers that are not members, in order."""
        return [s for s in signers if s not in self.members]

    def conflicted(self, signers: Iterable[str], subjects: Iterable[str]) -> list[tuple[str, str]]:
        """Each (signer, subject) with a declared conflict, signer by signer."""
        subjects = list(subjects)
        return [(s, x) for s in signers for x in subjects if (s, x) in self.conflicts]

    def apply(self, event: Event) -> None:
        """Replay one of the consortium's membership, threshold, policy or conflict events."""
        a = event.args
        if event.name in ("MemberAdded", "MemberRolesChanged"):
            self.members[a["member"]] = a["roles"]
        elif event.name == "MemberRemoved":
            self.members.pop(a["member"], None)
        elif event.name == "ThresholdChanged":
            self.threshold = a["threshold"]
        elif event.name == "PolicySet":
            self.policies[a["selector"]] = (a["requiredRoles"], a["subjectArg"])
        elif event.name == "ConflictDeclared":
            self.conflicts.add((a["member"], a["subject"]))
        elif event.name == "ConflictLifted":
            self.conflicts.discard((a["member"], a["subject"]))


def deployment_roles(
    events: Sequence[Event], consortium: str, pay_roles: int | None
) -> tuple[int, int]:
    """(roles paying requires, roles governance requires), from the consortium's policies.

    Args:
        events: the history's events in chain order.
        consortium: the consortium's address.
        pay_roles: the roles paying requires, if given; else those of the first
            ``PolicySet`` for ``acceptMilestone`` (0 without one).

    Returns:
        The payment roles, and every role any policy of the consortium's first transaction
        (its deployment) requires.
    """
    mine = [e for e in events if e.address == consortium]
    first_tx = mine[0].tx if mine else ""
    gov = 0
    pay = None
    for e in mine:
        if e.name != "PolicySet":
            continue
        if e.tx == first_tx:
            gov |= e.args["requiredRoles"]
        if pay is None and e.args["selector"] == ACCEPT:
            pay = e.args["requiredRoles"]
    return (pay or 0) if pay_roles is None else pay_roles, gov
