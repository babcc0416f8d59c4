"""Late submissions and penalties (invariant f): due dates count from funding, so the time
the buyer took to fund makes no submission late."""

from __future__ import annotations

from procurechain import display
from procurechain.invariants.agreements import Agreement
from procurechain.invariants.events import Event
from procurechain.invariants.violations import Reporter

DAY = 24 * 3600


def check_days_late(report: Reporter, g: Agreement, e: Event, now: int) -> None:
    """(f.days-late) a ``MilestoneSubmitted`` at ``now`` not after its due date counted from
    funding says ``daysLate`` 0.

    Args:
        report: where violations go.
        g: the agreement.
        e: the event.
        now: the time of its block.
    """
    index = e.args["index"]
    dues = g.due(index)
    if dues is None:
        return
    late = max(0, -(-(now - dues[1]) // DAY))
    # Only "late when it was not": how many days a late submission is late is the penalty
    # rule's business, and a funding one second after creation may shift it by one day.
    if e.args["daysLate"] > 0 and late == 0:
        when = report.when
        report(
            "f.days-late",
            g.label,
            e,
            f"milestone {index} submitted at {when(now)} is {late} started days after its due "
            f"date from funding {when(dues[1])} (scheduled {when(dues[0])}), but the event "
            f"says {e.args['daysLate']}",
            days_late=e.args["daysLate"],
            expected_days_late=late,
            submitted=now,
            effective_due=dues[1],
            scheduled_due=dues[0],
        )


def check_penalty(report: Reporter, g: Agreement, e: Event, penalty: int) -> None:
    """(f.penalty) no late ``penalty`` on a milestone submitted by its due date counted from
    funding.

    Args:
        report: where violations go.
        g: the agreement.
        e: the settling event (``MilestoneAccepted`` or ``DisputeResolved``).
        penalty: the penalty it charged.
    """
    index = e.args["index"]
    dues = g.due(index)
    m = g.milestones.get(index)
    if penalty == 0 or dues is None or m is None or m.submitted is None:
        return
    if m.submitted <= dues[1]:
        delay = (g.funded or 0) - (g.created or 0)
        when = report.when
        report(
            "f.penalty",
            g.label,
            e,
            f"charged a late penalty of {report.money(penalty)} on milestone {index} submitted "
            f"at {when(m.submitted)}, not after its due date counted from funding "
            f"{when(dues[1])} (scheduled {when(dues[0])}, funded {display.duration(delay)} "
            "after creation)",
            penalty=penalty,
            submitted=m.submitted,
            effective_due=dues[1],
            scheduled_due=dues[0],
            funding_delay=delay,
        )
