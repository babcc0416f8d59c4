"""The consortium's quorums (invariants e and g): every executed action obeys the
consortium's own rules, and a governance change counts only when it is legitimate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from procurechain.invariants.actions import action_calldata
from procurechain.invariants.council import Council, deployment_roles
from procurechain.invariants.events import Event
from procurechain.invariants.selectors import LIFT_CONFLICT
from procurechain.invariants.violations import Reporter
from procurechain.invariants.wording import checksum, function_name, names, role_names


class Quorum:
    """The consortium replayed twice: as its events say (``actual``) and without the effects
    of illegitimate governance changes (``legit``), which payments are checked against.

    Args:
        report: where violations go.
        data: the history's JSON form (its transactions and chain id are read).
        events: the history's events in chain order (for the deployment's policies).
        pay_roles: the roles paying requires; None: those of the first ``acceptMilestone``
            policy.
    """

    def __init__(
        self,
        report: Reporter,
        data: Mapping[str, Any],
        events: Sequence[Event],
        pay_roles: int | None,
    ) -> None:
        self.report = report
        self.consortium: str = data["consortium"]
        self.chain_id = data["chainId"]
        self.transactions: Mapping[str, Any] = data["transactions"]
        self.label = f"Consortium {checksum(self.consortium)}"
        self.actual, self.legit = Council(), Council()
        self.ever_members: set[str] = set()
        self.tainted: set[str] = set()
        self.pay_roles, self.gov_roles = deployment_roles(events, self.consortium, pay_roles)
        self.reset_tx()

    def reset_tx(self) -> None:
        """Forget the transaction that ended."""
        #: This transaction's ``ActionExecuted`` events, in order.
        self.actions: list[Event] = []

    def on_event(self, e: Event) -> None:
        """An event of the consortium."""
        if e.name == "ActionExecuted":
            data = action_calldata(
                self.transactions.get(e.tx), e.args["actionHash"], self.chain_id, self.consortium
            )
            self.actions.append(e)
            self._check_rules(e, data)
            if e.args["target"] == self.consortium:
                self._check_governance(e, data)
            return
        if e.name == "MemberAdded":
            self.ever_members.add(e.args["member"])
        self.actual.apply(e)
        # Declaring a conflict is a member's own act, not governance: it always counts.
        if e.name == "ConflictDeclared" or e.tx not in self.tainted:
            self.legit.apply(e)

    def _check_rules(self, e: Event, data: bytes | None) -> None:
        """(g) the consortium's own rules, replayed."""
        a, council, label = e.args, self.actual, self.label
        signers = a["signers"]
        what = f"{function_name(a['selector'])} on {checksum(a['target'])}"
        numbers = [int(s, 16) for s in signers]
        if numbers != sorted(set(numbers)):
            self.report("g.order", label, e, f"{what} lists signers out of order: {names(signers)}")
        strangers = council.strangers(signers)
        if strangers:
            self.report("g.member", label, e, f"{what} counted non-members {names(strangers)}")
        if len(signers) < council.threshold:
            self.report(
                "g.threshold",
                label,
                e,
                f"{what} executed with {len(signers)} signers, threshold {council.threshold}",
                signers=len(signers),
                threshold=council.threshold,
            )
        required, subject_arg = council.policies.get(a["selector"], (0, 0))
        held, missing = council.lacking(signers, required)
        if missing:
            text = f"{what} needs {role_names(required)}, its signers hold {role_names(held)}"
            self.report("g.roles", label, e, text, required=required, held=held)
        subjects = [a["target"]]
        if a["selector"] == LIFT_CONFLICT and a["target"] == self.consortium:
            subject_arg = 2  # the consortium counts nobody in conflict with the lifted subject
        end = 4 + 32 * subject_arg
        if subject_arg and data is not None and len(data) >= end:
            subjects.append("0x" + data[end - 20 : end].hex())
        for signer, subject in council.conflicted(signers, dict.fromkeys(subjects)):
            text = f"{what} counted {checksum(signer)}, recused from {checksum(subject)}"
            self.report("g.recused", label, e, text)

    def _check_governance(self, e: Event, data: bytes | None) -> None:
        """(e) a change of the consortium itself; when it breaks a rule, its transaction's
        effects do not count for the ``legit`` council."""
        a, label = e.args, self.label
        signers = a["signers"]
        what = f"governance action {function_name(a['selector'])}"
        broken = False
        if data is None:
            broken = True
            text = f"{what} cannot be matched to the transaction's execute calldata"
            self.report("e.undecodable", label, e, text)
        held, missing = self.legit.lacking(signers, self.gov_roles)
        # all members but one (and more than the threshold) may act without the roles
        counted = len(signers) - len(self.legit.strangers(signers))
        override = max(self.legit.threshold + 1, len(self.legit.members) - 1)
        if missing and counted < override:
            broken = True
            self.report(
                "e.roles",
                label,
                e,
                f"{what} signed by {names(signers)} holding {role_names(held)}, without "
                f"{role_names(missing)}, which policies required at deployment "
                f"({role_names(self.gov_roles)}), and fewer than all members but one "
                f"({override}); its effects are not recognised",
                held=held,
                required=self.gov_roles,
                missing=missing,
            )
        if data is not None and len(data) >= 36:
            named = "0x" + data[16:36].hex()  # the first argument, as an address
            if named in self.ever_members and named in signers:
                broken = True
                self.report(
                    "e.self", label, e, f"{what} names member {checksum(named)}, who signed it"
                )
        if broken:
            self.tainted.add(e.tx)
