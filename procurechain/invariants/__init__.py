"""Invariants of a procurechain deployment, computed from the chain alone.

Independent of the code it checks: no compiled ABI, no Python model of the contracts, no
view function of theirs. Events are decoded by hard-coded signatures (the topic is the
keccak of the signature string), token balances are read with a raw ``balanceOf`` call, and
the consortium's actions are decoded from the transactions' own calldata and matched to the
executed action hash by recomputing the EIP-712 digest.

Two parts, and the modules that hold them:

- :class:`ChainHistory` fetches, over plain JSON-RPC (batched), the logs of the registry,
  the tenders it created, the agreements they created, the consortium and the token's
  ``Transfer`` logs touching tenders and agreements, with the timestamps of their blocks, the
  calldata of every executed consortium action and the token balances of every tender and
  agreement. :meth:`ChainHistory.extend` adds the blocks mined since the last call (three
  batched requests; a chain that was reverted under it, e.g. an Anvil snapshot, is rewound
  to the last block it still shares). The history is plain JSON (:meth:`ChainHistory.to_json`)
  and can be stored as a fixture. (:mod:`.history`, :mod:`.followed`, :mod:`.rpc`; the
  event signatures and decoding in :mod:`.events`.)
- :func:`check` takes a history (or its JSON) and returns the :class:`Violation` list: each
  one a plain sentence naming the contract, the block, the transaction and the amounts.
  (:mod:`.replay` dispatches the events in chain order to :mod:`.bonds` (a, b),
  :mod:`.escrow` (c, f, with :mod:`.penalties`), :mod:`.quorum` (e, g) and
  :mod:`.payments` (d); :mod:`.violations` holds :class:`Violation` and :data:`RULES`.)

Invariants (rule codes in brackets; see :data:`RULES`):

a. [a.balance] a tender holds exactly its bond times the bidders whose bond it still holds
   (first ``BidCommitted`` per bidder, minus one per settled bidder), by its ``Transfer``
   logs after every transaction and by the balance read at the end;
b. [b.double, b.overpaid, b.unexplained, b.stranger] a bond is settled at most once
   (``BondWithdrawn`` / ``BondReturned`` / ``BondForfeited``), the tokens a tender sends one
   bidder never exceed one bond, and every token leaving a tender is one settlement event;
c. [c.balance, c.credits, c.unexplained, c.short, c.credit-balance, c.milestone, c.terms]
   an agreement's balance read equals its transfers in minus out, never falls below the
   credits it owes, tokens leave it only as ``Withdrawn`` credits, the supplier's credits
   never exceed the price, milestone money adds up and the agreement is the one its tender
   created (supplier, price, buyer, consortium, token);
d. [d.no-action, d.selector, d.member, d.threshold, d.roles, d.recused] every payment to a
   supplier (``MilestoneAccepted`` / ``DisputeResolved`` with ``paid > 0``) is in the same
   transaction as, and after, a consortium ``ActionExecuted`` aimed at that agreement whose
   signers, as of that block, are legitimate members, at least the threshold, hold the roles
   that paying requires (``pay_roles``: by default the first policy of
   ``acceptMilestone(uint256)``), and none of whom has an open conflict with the agreement, its
   supplier, its tender, the tender's buyer or any bidder of that tender;
e. [e.roles, e.self, e.undecodable] every governance change (an action aimed at the
   consortium itself) is signed by signers holding every role any policy required at
   deployment, none of them the member the change names as its first argument. Changes that
   break this are not recognised: membership, roles, threshold, policies and lifted conflicts
   they produce do not count for (d);
f. [f.penalty, f.days-late] due dates count from funding (scheduled due date plus the time
   from ``AgreementInitialized`` to ``AgreementFunded``): no penalty when the latest
   submission was not after it, and no submission that was not after it is reported late
   (``daysLate > 0``);
g. [g.member, g.threshold, g.roles, g.recused, g.order] every ``ActionExecuted`` obeys the
   consortium's own rules as replayed from its events (members, threshold, sorted distinct
   signers, the policy in force, recusal from the target and the policy's subject argument).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procurechain.invariants.events import EVENTS, Event, decode_events
from procurechain.invariants.history import ChainHistory
from procurechain.invariants.penalties import DAY as DAY
from procurechain.invariants.replay import Replay
from procurechain.invariants.selectors import ACCEPT as ACCEPT
from procurechain.invariants.selectors import EXECUTE as EXECUTE
from procurechain.invariants.selectors import RESOLVE as RESOLVE
from procurechain.invariants.violations import RULES, Violation

__all__ = [
    "EVENTS",
    "RULES",
    "ChainHistory",
    "Event",
    "Violation",
    "check",
    "decode_events",
]


def check(
    history: ChainHistory | Mapping[str, Any], *, pay_roles: int | None = None
) -> list[Violation]:
    """Every invariant of the package docstring over ``history``.

    Args:
        history: a :class:`ChainHistory` or its JSON form (e.g. a stored fixture).
        pay_roles: role bits every payment to a supplier needs among its signers; default:
            the roles of the first ``PolicySet`` for ``acceptMilestone(uint256)``.

    Returns:
        The violations in chain order (empty when every invariant holds).
    """
    data = history if isinstance(history, Mapping) else history.to_json()
    return Replay(data, pay_roles).run()
