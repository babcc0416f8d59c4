"""Payments to suppliers (invariant d): each is covered by a legitimate consortium action
aimed at the agreement, in the same transaction and before it."""

from __future__ import annotations

from procurechain.invariants.agreements import Agreement
from procurechain.invariants.events import Event
from procurechain.invariants.quorum import Quorum
from procurechain.invariants.selectors import ACCEPT, RESOLVE
from procurechain.invariants.violations import Reporter
from procurechain.invariants.wording import checksum, function_name, names, role_names


def parties(g: Agreement) -> dict[str, str]:
    """The parties of ``g``'s contract, by address: what no payment signer may be in conflict
    with, and how sentences call each. Losing bidders are not parties of the contract (a
    conflict with one recuses a member from the competition, not from paying the winner)."""
    t = g.tender
    found = {g.address: "the agreement", g.supplier: "the supplier", t.address: "the tender"}
    found.setdefault(t.buyer, "the buyer")
    return found


def check_payment(report: Reporter, quorum: Quorum, g: Agreement, e: Event) -> None:
    """(d) a payment to the supplier of ``g`` (an event with ``paid > 0``).

    Args:
        report: where violations go.
        quorum: the consortium as replayed so far (this transaction's actions, the
            legitimate council, the roles paying requires).
        g: the agreement.
        e: the paying event (``MilestoneAccepted`` or ``DisputeResolved``).
    """
    actions = [x for x in quorum.actions if x.args["target"] == g.address and x.index < e.index]
    paid = e.args["paid"]
    what = (
        f"{e.name} of milestone {e.args['index']} paid {checksum(g.supplier)} {report.money(paid)}"
    )
    if not actions:
        report("d.no-action", g.label, e, f"{what} with no consortium action", paid=paid)
        return
    action = actions[-1].args
    if action["selector"] not in (ACCEPT, RESOLVE):
        text = (
            f"{what} under {function_name(action['selector'])}, not acceptMilestone/resolveDispute"
        )
        report("d.selector", g.label, e, text, paid=paid)
    signers, council = action["signers"], quorum.legit
    strangers = council.strangers(signers)
    if strangers:
        text = f"{what}, counting {names(strangers)}, not (legitimately) members"
        report("d.member", g.label, e, text, paid=paid)
    counted = len(signers) - len(strangers)
    if counted < council.threshold:
        report(
            "d.threshold",
            g.label,
            e,
            f"{what} with {counted} member signers, threshold {council.threshold}",
            paid=paid,
            signers=counted,
            threshold=council.threshold,
        )
    held, missing = council.lacking(signers, quorum.pay_roles)
    if missing:
        report(
            "d.roles",
            g.label,
            e,
            f"{what} signed by {names(signers)} holding {role_names(held)}, without "
            f"{role_names(missing)}, which paying requires",
            paid=paid,
            held=held,
            required=quorum.pay_roles,
        )
    if g.supplier in signers:
        text = f"{what} signed by the supplier itself"
        report("d.self", g.label, e, text, paid=paid)
    subjects = parties(g)
    for signer, subject in council.conflicted(signers, subjects):
        text = (
            f"{what} signed by {checksum(signer)}, who declared a conflict with "
            f"{subjects[subject]} {checksum(subject)}"
        )
        report("d.recused", g.label, e, text, paid=paid)
