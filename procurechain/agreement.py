"""The Agreement escrow from Python: fund, submit, dispute, withdraw, status, consortium calls.

Parties act directly (``fund``, ``submit``, ``dispute``, ``withdraw``, ``release_retention``).
Decisions of the consortium (accept, reject, resolve, terminate, warranty claim) are returned as
:class:`~procurechain.calls.Call` objects for the consortium's signature-bundle flow. Every
function checks the agreement's state, the caller's role, balances and allowances first, so
nothing is sent that the contract would reject; such a failure raises
:class:`~procurechain.errors.ProcurechainError` with one sentence saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from eth_utils import keccak, to_checksum_address

from procurechain import display, inputs, network
from procurechain.calls import Call, call_of
from procurechain.deployments import typed
from procurechain.errors import ProcurechainError, describe, register_sentences
from procurechain.permit import sign_permit

__all__ = [
    "AgreementReport",
    "AgreementStatus",
    "MilestoneReport",
    "MilestoneState",
    "accept_call",
    "agreement_at",
    "content_hash",
    "dispute",
    "fund",
    "reject_call",
    "release_retention",
    "resolve_call",
    "status",
    "submit",
    "terminate_call",
    "warranty_claim_call",
    "withdraw",
]

BPS = 10_000
DAY = 86_400


class AgreementStatus(IntEnum):
    """Where the agreement stands (``Agreement.Status``)."""

    UNFUNDED = 0
    ACTIVE = 1
    COMPLETED = 2
    TERMINATED = 3


class MilestoneState(IntEnum):
    """Where one milestone stands (``Agreement.MilestoneState``)."""

    PENDING = 0
    SUBMITTED = 1
    REJECTED = 2
    DISPUTED = 3
    ACCEPTED = 4
    RESOLVED = 5


register_sentences(
    {
        "AgreementNotConsortium": "only the consortium may do this, not {caller}",
        "AgreementNotBuyer": "only the buyer may fund the agreement, not {caller}",
        "AgreementNotSupplier": "only the supplier may submit milestones, not {caller}",
        "AgreementNotParty": "only the buyer or the supplier may dispute, not {caller}",
        "AgreementZeroAddress": "a party or the token is the zero address",
        "AgreementPriceZero": "the price must be above zero",
        "AgreementPlanLength": "the plan has {length} milestones; it needs 1 to {max}",
        "AgreementPlanShares": "the plan's shares sum to {totalBps} bps; they must sum to 10000",
        "AgreementTermsInvalid": (
            "retention ({retentionBps} bps) and the penalty cap ({latePenaltyCapBps} bps) "
            "must not exceed 10000 bps"
        ),
        "AgreementWrongStatus": "the agreement is {status} (0 unfunded, 1 active, "
        "2 completed, 3 terminated); this step is not possible now",
        "AgreementFundingShort": (
            "only {received} of the price {price} arrived (the token charges a fee): "
            "fund with a larger amount; the surplus is credited back"
        ),
        "AgreementNoSuchMilestone": "there is no milestone {index}; the agreement has {count}",
        "AgreementMilestoneWrongState": (
            "milestone {index} is in state {state} (0 pending, 1 submitted, 2 rejected, "
            "3 disputed, 4 accepted, 5 resolved); this step is not possible now"
        ),
        "AgreementEvidenceMissing": "milestone {index} needs a non-zero evidence hash",
        "AgreementSplitInvalid": "the supplier's share {supplierBps} bps is above 10000",
        "AgreementClaimInvalid": (
            "a warranty claim of {amount} is not possible: {retentionHeld} is held as retention"
        ),
        "AgreementWarrantyOver": "the warranty ended at {warrantyEndsAt}; the retention is the "
        "supplier's",
        "AgreementWarrantyRunning": (
            "{settled} of {count} milestones are settled and the warranty ends at "
            "{warrantyEndsAt}: the retention cannot be released yet"
        ),
        "AgreementNothingToWithdraw": "{account} has nothing to withdraw",
        "AgreementNoSurplus": "the balance {balance} holds nothing beyond the {owed} owed",
    }
)


@dataclass(frozen=True)
class MilestoneReport:
    """One milestone as the agreement records it (token base units, unix seconds).

    Attributes:
        index: position in the plan.
        amount: share of the price.
        due_date: when it is due.
        state: where it stands.
        submitted_at: time of the latest submission (0 if never submitted).
        days_late: started days between the due date and the latest submission.
        paid: credited to the supplier.
        penalty: late penalty credited to the buyer.
        retention: held back from the supplier's pay until the warranty ends.
        refunded: returned to the buyer by a dispute resolution.
        description_hash: hash of the milestone's description in the tender.
        evidence_hash: hash of the latest evidence.
    """

    index: int
    amount: int
    due_date: int
    state: MilestoneState
    submitted_at: int
    days_late: int
    paid: int
    penalty: int
    retention: int
    refunded: int
    description_hash: bytes
    evidence_hash: bytes


@dataclass(frozen=True)
class AgreementReport:
    """The whole agreement: parties, money and every milestone.

    Attributes:
        address: the agreement.
        status: where it stands.
        consortium: the authority.
        buyer: the funding agency.
        supplier: the awarded bidder.
        token: the payment token.
        price: the awarded price.
        balance: the agreement's token balance (equals ``owed`` unless someone sent tokens
            outside ``fund``).
        escrowed: price not yet settled on any milestone.
        retention_held: retention held until the warranty ends.
        credits: credited and not yet withdrawn, all accounts.
        owed: ``escrowed + retention_held + credits``.
        warranty_ends_at: when the warranty ends (0 until every milestone is settled).
        milestones: every milestone in plan order.
        unit: the token's symbol and decimals (how amounts read).
        now: the chain's clock when it was read (for the time left).
    """

    address: str
    status: AgreementStatus
    consortium: str
    buyer: str
    supplier: str
    token: str
    price: int
    balance: int
    escrowed: int
    retention_held: int
    credits: int
    owed: int
    warranty_ends_at: int
    milestones: list[MilestoneReport]
    unit: display.Token = field(default_factory=lambda: display.Token("base units", 0))
    now: int | None = None

    def money(self, amount: int) -> str:
        """An amount of the agreement's token as people read it (``16,150.00 dUSD``)."""
        return self.unit.money(amount)

    def as_json(self) -> dict[str, Any]:
        """The report for ``--json``: exact integers (base units, unix seconds), each amount
        and time with its human form beside it (``price`` and ``price_display``)."""
        unit = self.unit

        def moment(name: str, value: int) -> dict[str, Any]:
            return {name: value, f"{name}_display": display.when(value) if value else None}

        return {
            "agreement": self.address,
            "status": self.status.name.lower(),
            "consortium": self.consortium,
            "buyer": self.buyer,
            "supplier": self.supplier,
            "token": self.token,
            "symbol": unit.symbol,
            "decimals": unit.decimals,
            **unit.fields("price", self.price),
            **unit.fields("balance", self.balance),
            **unit.fields("escrowed", self.escrowed),
            **unit.fields("retention_held", self.retention_held),
            **unit.fields("credits", self.credits),
            **unit.fields("owed", self.owed),
            **moment("warranty_ends_at", self.warranty_ends_at),
            **moment("now", self.now or 0),
            "milestones": [
                {
                    "index": m.index,
                    "state": m.state.name.lower(),
                    **unit.fields("amount", m.amount),
                    **moment("due_date", m.due_date),
                    **moment("submitted_at", m.submitted_at),
                    "days_late": m.days_late,
                    **unit.fields("paid", m.paid),
                    **unit.fields("penalty", m.penalty),
                    **unit.fields("retention", m.retention),
                    **unit.fields("refunded", m.refunded),
                    "description_hash": "0x" + m.description_hash.hex(),
                    "evidence_hash": "0x" + m.evidence_hash.hex(),
                }
                for m in self.milestones
            ],
        }


def _chain_now() -> int:
    """The chain's clock (a devnet's may be far ahead of the wall clock)."""
    from ape import chain

    return int(chain.pending_timestamp)


def agreement_at(agreement: Any) -> Any:
    """The Agreement contract, from an instance or an address (checking code is there)."""
    if hasattr(agreement, "acceptMilestone"):
        return agreement
    from ape import chain

    address = inputs.address(str(agreement), "AGREEMENT")
    if not chain.provider.get_code(address):
        raise ProcurechainError(
            f"no contract at {address} on chain {network.chain_id()}; check AGREEMENT and --network"
        )
    return typed("Agreement", address)


def _token(agreement: Any) -> Any:
    """The payment token, read through the devnet stablecoin's ABI (ERC-20 plus EIP-2612)."""

    return typed("DemoStablecoin", agreement.token())


def content_hash(content: str | bytes) -> bytes:
    """Keccak-256 of a document (text as UTF-8), the hash the agreement records.

    Args:
        content: the evidence, reasons or decision document.

    Returns:
        32 bytes.
    """
    data = content.encode() if isinstance(content, str) else content
    return keccak(data)


def _days_late(at: int, due: int) -> int:
    return 0 if at <= due else (at - due + DAY - 1) // DAY


def status(agreement: Any) -> AgreementReport:
    """Read the agreement and every milestone.

    Args:
        agreement: an Ape contract instance or the agreement's address.

    Returns:
        The agreement's report.
    """
    contract = agreement_at(agreement)
    milestones = []
    for index in range(contract.milestoneCount()):
        m = contract.milestone(index)
        milestones.append(
            MilestoneReport(
                index=index,
                amount=m.amount,
                due_date=m.dueDate,
                state=MilestoneState(m.state),
                submitted_at=m.submittedAt,
                days_late=_days_late(m.submittedAt, m.dueDate) if m.submittedAt else 0,
                paid=m.paid,
                penalty=m.penalty,
                retention=m.retention,
                refunded=m.refunded,
                description_hash=bytes(m.descriptionHash),
                evidence_hash=bytes(m.evidenceHash),
            )
        )
    return AgreementReport(
        address=str(contract.address),
        status=AgreementStatus(contract.status()),
        consortium=str(contract.consortium()),
        buyer=str(contract.buyer()),
        supplier=str(contract.supplier()),
        token=str(contract.token()),
        price=contract.price(),
        balance=_token(contract).balanceOf(contract.address),
        escrowed=contract.escrowed(),
        retention_held=contract.retentionHeld(),
        credits=contract.totalCredits(),
        owed=contract.owed(),
        warranty_ends_at=contract.warrantyEndsAt(),
        milestones=milestones,
        unit=display.token_from(_token(contract), str(contract.token())),
        now=_chain_now(),
    )


def _require_status(contract: Any, wanted: AgreementStatus, action: str) -> None:
    actual = AgreementStatus(contract.status())
    if actual != wanted:
        raise ProcurechainError(
            f"cannot {action}: the agreement is {actual.name.lower()}, "
            f"it must be {wanted.name.lower()}"
        )


def _require_index(contract: Any, index: int) -> None:
    count = contract.milestoneCount()
    if not 0 <= index < count:
        raise ProcurechainError(
            f"there is no milestone {index}: use an index from 0 to {count - 1}"
        )


def _require_milestone(
    contract: Any, index: int, allowed: tuple[MilestoneState, ...], action: str
) -> None:
    _require_index(contract, index)
    state = MilestoneState(contract.milestone(index).state)
    if state not in allowed:
        names = " or ".join(s.name.lower() for s in allowed)
        raise ProcurechainError(
            f"cannot {action} milestone {index}: it is {state.name.lower()}, it must be {names}"
        )


def _require_hash(value: bytes, what: str) -> bytes:
    data = bytes(value)
    if len(data) != 32 or data == bytes(32):
        raise ProcurechainError(f"the {what} must be a non-zero 32-byte hash (see content_hash)")
    return data


def _same(a: Any, b: Any) -> bool:
    return to_checksum_address(str(a)) == to_checksum_address(str(b))


def fund(
    agreement: Any,
    buyer: Any,
    *,
    amount: int | None = None,
    use_permit: bool = False,
    permit_deadline: int | None = None,
) -> Any:
    """Deposit the price, by prior approval (given here if missing) or by EIP-2612 permit.

    Args:
        agreement: the agreement (contract instance or address).
        buyer: the buyer's Ape account.
        amount: tokens to pull; defaults to the price. Give more for a fee-on-transfer token;
            whatever arrives beyond the price is credited back.
        use_permit: sign a permit instead of sending an approval transaction.
        permit_deadline: the permit's deadline (default: one hour from now).

    Returns:
        The funding receipt.

    Raises:
        ProcurechainError: wrong account, agreement not awaiting funds, or balance too low.
    """
    contract = agreement_at(agreement)
    _require_status(contract, AgreementStatus.UNFUNDED, "fund")
    if not _same(buyer.address, contract.buyer()):
        raise ProcurechainError(f"{buyer.address} is not the buyer: fund with {contract.buyer()}")
    price = contract.price()
    pull = price if amount is None else amount
    token = _token(contract)
    money = display.token_from(token).money
    if pull < price:
        raise ProcurechainError(f"fund at least the price {money(price)}, not {money(pull)}")
    balance = token.balanceOf(buyer.address)
    if balance < pull:
        raise ProcurechainError(
            f"the buyer holds {money(balance)}, {money(pull)} is needed: top it up first"
        )
    if use_permit:
        deadline = permit_deadline or _chain_now() + 3600
        v, r, s = sign_permit(token, buyer, str(contract.address), pull, deadline)
        return contract.fundWithPermit(pull, deadline, v, r, s, sender=buyer)
    if token.allowance(buyer.address, contract.address) >= pull:
        return contract.fund(pull, sender=buyer)
    approval = token.approve(contract.address, pull, sender=buyer)
    try:
        return contract.fund(pull, sender=buyer)
    except Exception as err:
        raise ProcurechainError(
            f"the approval of {money(pull)} went through (tx {approval.txn_hash}) but funding "
            "failed: "
            f"{describe(err)}; fix that and fund again (the approval is reused)"
        ) from err


def submit(
    agreement: Any, supplier: Any, index: int, evidence_hash: bytes, evidence_uri: str
) -> Any:
    """Deliver evidence for a pending or rejected milestone.

    Args:
        agreement: the agreement (contract instance or address).
        supplier: the supplier's Ape account.
        index: the milestone.
        evidence_hash: hash of the evidence document (see :func:`content_hash`).
        evidence_uri: where the evidence can be read.

    Returns:
        The receipt.

    Raises:
        ProcurechainError: wrong account, agreement not active, or milestone not open.
    """
    contract = agreement_at(agreement)
    _require_index(contract, index)
    _require_status(contract, AgreementStatus.ACTIVE, "submit")
    if not _same(supplier.address, contract.supplier()):
        raise ProcurechainError(
            f"{supplier.address} is not the supplier: submit with {contract.supplier()}"
        )
    _require_milestone(contract, index, (MilestoneState.PENDING, MilestoneState.REJECTED), "submit")
    evidence = _require_hash(evidence_hash, "evidence hash")
    return contract.submit(index, evidence, evidence_uri, sender=supplier)


def dispute(agreement: Any, party: Any, index: int, reason_hash: bytes) -> Any:
    """Dispute a submitted or rejected milestone as the buyer or the supplier.

    Args:
        agreement: the agreement (contract instance or address).
        party: the buyer's or the supplier's Ape account.
        index: the milestone.
        reason_hash: hash of the written grounds.

    Returns:
        The receipt.

    Raises:
        ProcurechainError: not a party, agreement not active, or milestone not disputable.
    """
    contract = agreement_at(agreement)
    _require_index(contract, index)
    _require_status(contract, AgreementStatus.ACTIVE, "dispute")
    if not (_same(party.address, contract.buyer()) or _same(party.address, contract.supplier())):
        raise ProcurechainError(f"{party.address} is neither the buyer nor the supplier")
    _require_milestone(
        contract, index, (MilestoneState.SUBMITTED, MilestoneState.REJECTED), "dispute"
    )
    return contract.dispute(index, _require_hash(reason_hash, "reason hash"), sender=party)


def withdraw(agreement: Any, account: Any) -> Any:
    """Withdraw everything credited to ``account``.

    Args:
        agreement: the agreement (contract instance or address).
        account: any Ape account with a credit.

    Returns:
        The receipt.

    Raises:
        ProcurechainError: nothing is credited to the account.
    """
    contract = agreement_at(agreement)
    if contract.creditOf(account.address) == 0:
        raise ProcurechainError(f"{account.address} has nothing to withdraw from this agreement")
    return contract.withdraw(sender=account)


def release_retention(agreement: Any, account: Any) -> Any:
    """Release the retention to the supplier after the warranty (anyone may send this).

    Args:
        agreement: the agreement (contract instance or address).
        account: the Ape account that pays for the transaction.

    Returns:
        The receipt.

    Raises:
        ProcurechainError: work outstanding or warranty still running.
    """
    from ape import chain

    contract = agreement_at(agreement)
    _require_status(contract, AgreementStatus.ACTIVE, "release the retention")
    settled, count = contract.settledCount(), contract.milestoneCount()
    ends = contract.warrantyEndsAt()
    now = int(chain.pending_timestamp)
    if settled < count or now < ends:
        ending = f"ends at {display.deadline(ends, now)}" if ends else "has not started"
        raise ProcurechainError(
            f"{settled} of {count} milestones are settled and the warranty {ending}: "
            "release the retention after that"
        )
    return contract.releaseRetention(sender=account)


def accept_call(agreement: Any, index: int) -> Call:
    """The consortium call that accepts a submitted milestone.

    Args:
        agreement: the agreement (contract instance or address).
        index: the milestone.

    Returns:
        The call, described with what it pays.

    Raises:
        ProcurechainError: agreement not active or milestone not submitted.
    """
    contract = agreement_at(agreement)
    _require_index(contract, index)
    _require_status(contract, AgreementStatus.ACTIVE, "accept")
    _require_milestone(contract, index, (MilestoneState.SUBMITTED,), "accept")
    paid, penalty, retention = contract.quoteAcceptance(index)
    m = contract.milestone(index)
    money = display.token_from(_token(contract)).money
    late = _days_late(int(m.submittedAt), int(m.dueDate))
    timing = f"{late} day{'s' if late != 1 else ''} late" if late else "on time"
    fine = f"{money(penalty)} late penalty to the buyer" if penalty else "no late penalty"
    return call_of(
        contract,
        "acceptMilestone",
        index,
        description=(
            f"accept milestone {index} of agreement {contract.address} (due "
            f"{display.when(int(m.dueDate))}, delivered {timing}): pay the supplier "
            f"{money(paid)}, {money(retention)} held as retention, {fine}"
        ),
    )


def reject_call(agreement: Any, index: int, reason_hash: bytes) -> Call:
    """The consortium call that rejects a submitted milestone.

    Args:
        agreement: the agreement (contract instance or address).
        index: the milestone.
        reason_hash: hash of the written reasons.

    Returns:
        The call.

    Raises:
        ProcurechainError: agreement not active or milestone not submitted.
    """
    contract = agreement_at(agreement)
    _require_index(contract, index)
    _require_status(contract, AgreementStatus.ACTIVE, "reject")
    _require_milestone(contract, index, (MilestoneState.SUBMITTED,), "reject")
    reason = _require_hash(reason_hash, "reason hash")
    return call_of(
        contract,
        "rejectMilestone",
        index,
        reason,
        description=f"reject milestone {index} of agreement {contract.address} "
        f"(reasons 0x{reason.hex()})",
    )


def resolve_call(agreement: Any, index: int, supplier_bps: int, reason_hash: bytes) -> Call:
    """The consortium call that resolves a disputed milestone with a split.

    Args:
        agreement: the agreement (contract instance or address).
        index: the milestone.
        supplier_bps: the supplier's share of the milestone amount, 0 to 10,000.
        reason_hash: hash of the written decision.

    Returns:
        The call, described with the split in tokens.

    Raises:
        ProcurechainError: bad split, agreement not active or milestone not disputed.
    """
    if not 0 <= supplier_bps <= BPS:
        raise ProcurechainError(f"the supplier's share must be 0 to 10000 bps, not {supplier_bps}")
    contract = agreement_at(agreement)
    _require_index(contract, index)
    _require_status(contract, AgreementStatus.ACTIVE, "resolve")
    _require_milestone(contract, index, (MilestoneState.DISPUTED,), "resolve")
    reason = _require_hash(reason_hash, "reason hash")
    m = contract.milestone(index)
    amount = int(m.amount)
    share = amount * supplier_bps // BPS
    paid, penalty, retention = _split(contract, m, share)
    money = display.token_from(_token(contract)).money
    return call_of(
        contract,
        "resolveDispute",
        index,
        supplier_bps,
        reason,
        description=(
            f"resolve the dispute on milestone {index} of agreement {contract.address}, "
            f"{supplier_bps / 100:g}% to the supplier: pay the supplier {money(paid)}, "
            f"{money(retention)} held as retention, {money(amount - share)} back to the buyer"
            + (f" and {money(penalty)} late penalty to the buyer" if penalty else "")
        ),
    )


def _split(contract: Any, m: Any, base: int) -> tuple[int, int, int]:
    """``Agreement._split``: ``base`` of milestone ``m`` (as ``milestone(index)`` returns it,
    due date counted from funding) as (paid, penalty, retention)."""
    terms = contract.terms()
    retention = base * int(terms.retentionBps) // BPS
    late = _days_late(int(m.submittedAt), int(m.dueDate))
    penalty_bps = min(late * int(terms.latePenaltyBpsPerDay), int(terms.latePenaltyCapBps))
    penalty = min(base * penalty_bps // BPS, base - retention)
    return base - retention - penalty, penalty, retention


def terminate_call(agreement: Any, reason_hash: bytes) -> Call:
    """The consortium call that terminates the agreement.

    Args:
        agreement: the agreement (contract instance or address).
        reason_hash: hash of the written decision.

    Returns:
        The call, described with who gets what.

    Raises:
        ProcurechainError: the agreement has already ended.
    """
    contract = agreement_at(agreement)
    state = AgreementStatus(contract.status())
    if state not in (AgreementStatus.UNFUNDED, AgreementStatus.ACTIVE):
        raise ProcurechainError(f"the agreement is already {state.name.lower()}")
    reason = _require_hash(reason_hash, "reason hash")
    money = display.token_from(_token(contract)).money
    return call_of(
        contract,
        "terminate",
        reason,
        description=(
            f"terminate agreement {contract.address}: the {money(contract.retentionHeld())} "
            f"retention to the supplier, the {money(contract.escrowed())} not yet earned back "
            "to the buyer"
        ),
    )


def warranty_claim_call(agreement: Any, amount: int, reason_hash: bytes) -> Call:
    """The consortium call that draws on the retention for a warranty claim.

    Args:
        agreement: the agreement (contract instance or address).
        amount: tokens to draw, at most the retention held.
        reason_hash: hash of the written claim.

    Returns:
        The call.

    Raises:
        ProcurechainError: agreement not active, warranty over, or amount out of range.
    """
    from ape import chain

    contract = agreement_at(agreement)
    _require_status(contract, AgreementStatus.ACTIVE, "claim on the warranty")
    held = contract.retentionHeld()
    money = display.token_from(_token(contract)).money
    if not 0 < amount <= held:
        raise ProcurechainError(
            f"claim more than 0 and at most the {money(held)} held as retention, not "
            f"{money(amount)}"
        )
    settled = contract.settledCount() == contract.milestoneCount()
    ends, now = int(contract.warrantyEndsAt()), int(chain.pending_timestamp)
    if settled and now >= ends:
        raise ProcurechainError(
            f"the warranty period ended at {display.deadline(ends, now)}: the retention is the "
            "supplier's"
        )
    reason = _require_hash(reason_hash, "reason hash")
    until = f" (the warranty ends at {display.when(ends)})" if settled else ""
    return call_of(
        contract,
        "claimWarranty",
        amount,
        reason,
        description=f"pay the buyer {money(amount)} of the {money(held)} retention of agreement "
        f"{contract.address} for a warranty claim{until}",
    )
