"""Consortium decisions: EIP-712 actions, proposal bundles that members sign one by one, execution.

A proposal bundle is a small JSON file holding the chain id, the consortium's address, the
action (target, value, calldata, nonce, deadline), a human description and the signatures
collected so far. Signers on different machines pass it around; each ``sign`` reads the file,
checks it was not tampered with and that it is meant for the chain and consortium it is
connected to, adds one signature and writes the file atomically. Anyone may then
``execute`` it once enough members with the required roles have signed or approved on-chain.

A member that is a contract wallet (a Safe, a multisig of its own) signs through EIP-1271:
its owner signs the wallet's message for the action hash (:func:`sign_as_contract`), or any
data the wallet accepts is added with :func:`add_contract_signature`. Such a signature can
change its answer at any time, so :func:`status` asks every wallet again (a capped
``eth_call``) and :func:`execute` leaves out the ones that do not verify now.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode, encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import is_address, keccak, to_checksum_address
from web3.exceptions import ContractLogicError

from procurechain import network
from procurechain.calls import Call
from procurechain.errors import ProcurechainError, decode_revert, describe_error, register_sentences
from procurechain.files import write_atomic

__all__ = [
    "BUNDLE_FORMAT",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "ROLES",
    "Action",
    "Proposal",
    "ProposalStatus",
    "add_contract_signature",
    "approve",
    "check_contract_signature",
    "execute",
    "next_nonce",
    "pack_signatures",
    "propose",
    "revoke",
    "role_bits",
    "role_names",
    "sign",
    "sign_as_contract",
    "signature_bytes",
    "status",
    "wallet_message",
]

DOMAIN_NAME = "procurechain Consortium"
DOMAIN_VERSION = "1"
BUNDLE_FORMAT = "procurechain-proposal/1"
DEFAULT_TTL = 7 * 24 * 3600
APPROVED_HASH_V = 1
CONTRACT_SIGNATURE_V = 0
ENTRY_LENGTH = 65
EIP1271_MAGIC = bytes.fromhex("1626ba7e")
# A contract signature whose check needs more gas than this is left out: a wallet that burns
# gas cannot make the submitter pay for it (the contract itself forwards all it is given).
CONTRACT_CHECK_GAS = 500_000

ROLES: dict[str, int] = {
    "agency": 1 << 0,
    "auditor": 1 << 1,
    "citizen": 1 << 2,
    "technical": 1 << 3,
    "legal": 1 << 4,
}

_ACTION_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Action": [
        {"name": "target", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "data", "type": "bytes"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}

register_sentences(
    {
        "ConsortiumNotSelf": "only the consortium itself (through an executed proposal) may do "
        "this; {caller} tried",
        "ConsortiumNotMember": "{account} is not a member of the consortium",
        "ConsortiumAlreadyMember": "{account} is already a member",
        "ConsortiumInvalidMember": "{account} cannot be a member",
        "ConsortiumInvalidRoles": "role bits {roles} are not valid (use agency, auditor, citizen, "
        "technical, legal)",
        "ConsortiumInvalidThreshold": "threshold {threshold} is impossible with {memberCount} "
        "members (it must be between 1 and the member count)",
        "ConsortiumThresholdUnreachable": "removing that member would leave {memberCountAfter} "
        "members, fewer than the threshold {threshold}; lower the threshold first",
        "ConsortiumRoleStillRequired": "that change leaves no member with role {role}, which a "
        "policy requires; change the policy first",
        "ConsortiumRoleUnfilled": "no member holds role {role}, so that policy could never be met",
        "ConsortiumInvalidSubjectArg": "subject argument {subjectArg} is out of range (0-16)",
        "ConsortiumLengthMismatch": "the lists have different lengths ({members} vs {roles})",
        "ConsortiumActionExpired": "the proposal expired at {deadline} (chain time is {now_}); "
        "propose it again",
        "ConsortiumNonceUsed": "nonce {nonce} was already used: this proposal (or another with "
        "the same nonce) was executed; propose again for a new nonce",
        "ConsortiumSignatureLength": "the packed signatures ({length} bytes) are not whole 65-byte "
        "entries followed by contract-signature data; pack them with the library",
        "ConsortiumBelowThreshold": "{signers} signatures count but the consortium needs "
        "{threshold}; collect more signatures",
        "ConsortiumInvalidSignature": "signature #{index} is not a valid signature",
        "ConsortiumInvalidContractSignature": "contract wallet {signer} (signature #{index}) does "
        "not accept its signature now (it refused, reverted or ran out of gas); leave it out (the "
        "library does) or ask its owner to sign again",
        "ConsortiumContractSignatureOutOfBounds": "contract signature #{index} points at data "
        "(offset {dataOffset}) outside the {length} signature bytes; pack them with the library",
        "ConsortiumMalleableSignature": "signature #{index} has a high s value (malleable) and "
        "is refused",
        "ConsortiumSignersNotSorted": "signer #{index} ({signer}) is not after {previous}: "
        "signatures must be sorted by signer address without duplicates",
        "ConsortiumNotApproved": "{member} has not approved action {actionHash} on-chain",
        "ConsortiumSignerRecused": "{signer} declared a conflict of interest with {subject} and "
        "does not count for this action",
        "ConsortiumMissingRoles": "the signers hold roles {present} but this action requires "
        "{required}; a member with the missing role must sign",
        "ConsortiumEmptyReason": "a conflict declaration needs the hash of a published reason",
        "ConsortiumConflictAlreadyDeclared": "{member} already declared a conflict with {subject}",
        "ConsortiumNoConflict": "{member} has no declared conflict with {subject}",
        "ConsortiumInvalidConflictSubject": "{subject} cannot be the subject of a conflict "
        "declaration (the zero address or the consortium itself); name the bidder, tender, "
        "agreement or agency",
        "ConsortiumTooManyConflicts": "{member} already has {max} open conflict declarations; "
        "have the consortium lift those that ended before declaring another",
        "ConsortiumSignerIsSubject": "{signer} is the member this action is about and does not "
        "count for it; leave its signature out",
        "ConsortiumTargetNotContract": "{target} has no code on this chain; check the address "
        "(only a plain ether payment, without data, may go to an account)",
        "ConsortiumValueMismatch": "{sent} wei were sent with an action worth {value} wei; send "
        "exactly its value or none",
        "ConsortiumInsufficientGas": "only {gasLeft} gas was left to check recusals, {needed} are "
        "needed; send the execution with a higher gas limit",
    }
)


def role_bits(names: Iterable[str]) -> int:
    """Role names (``agency``, ``auditor``, ...) to the contract's role bits."""
    bits = 0
    for name in names:
        key = name.strip().lower()
        if key not in ROLES:
            raise ProcurechainError(f"unknown role {name!r}; use one of {', '.join(ROLES)}")
        bits |= ROLES[key]
    return bits


def role_names(bits: int) -> list[str]:
    """The contract's role bits to role names."""
    return [name for name, bit in ROLES.items() if bits & bit]


@dataclass(frozen=True)
class Action:
    """The EIP-712 ``Action`` struct members sign."""

    target: str
    value: int
    data: bytes
    nonce: int
    deadline: int

    def as_tuple(self) -> tuple[str, int, bytes, int, int]:
        """The struct as the contract's ABI tuple."""
        return (self.target, self.value, self.data, self.nonce, self.deadline)

    def typed_data(self, chain_id: int, consortium: str) -> dict[str, Any]:
        """The full EIP-712 typed-data message (as wallets display it)."""
        return {
            "types": _ACTION_TYPES,
            "primaryType": "Action",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": chain_id,
                "verifyingContract": consortium,
            },
            "message": {
                "target": self.target,
                "value": self.value,
                "data": self.data,
                "nonce": self.nonce,
                "deadline": self.deadline,
            },
        }

    def signable(self, chain_id: int, consortium: str) -> SignableMessage:
        return encode_typed_data(full_message=self.typed_data(chain_id, consortium))

    def digest(self, chain_id: int, consortium: str) -> bytes:
        """The 32-byte hash the contract verifies signatures against."""
        message = self.signable(chain_id, consortium)
        return keccak(b"\x19" + message.version + message.header + message.body)


#: The most texts (reasons, reports) one proposal bundle carries.
MAX_TEXTS = 4


def _names(data: bytes, digest: bytes) -> bool:
    """Whether calldata ``data`` holds ``digest`` as one of its 32-byte argument words."""
    return any(data[i : i + 32] == digest for i in range(4, len(data) - 31, 32))


@dataclass
class Proposal:
    """A proposal bundle: an action for one consortium on one chain, and its signatures.

    ``signatures`` holds members' 65-byte ECDSA signatures, ``contract_signatures`` the data
    member contracts accept through EIP-1271 (checked on chain, not when the file is read).
    """

    chain_id: int
    consortium: str
    action: Action
    description: str
    signatures: dict[str, bytes] = field(default_factory=dict)
    contract_signatures: dict[str, bytes] = field(default_factory=dict)
    #: The texts the action names by hash (reasons, reports), keyed by their keccak-256 as
    #: 0x hex: signers read them in the bundle, and :func:`execute` puts them on the record.
    texts: dict[str, str] = field(default_factory=dict)

    def add_text(self, text: str) -> bytes:
        """Carry ``text`` in the bundle; returns its hash.

        Raises:
            ProcurechainError: the action does not name the text's hash (a bundle carries
                only the words of its own decision), or it already carries the most texts.
        """
        digest = keccak(text=text)
        if not _names(self.action.data, digest):
            raise ProcurechainError(
                f"the action does not name the text {text[:40]!r} (hash 0x{digest.hex()}); "
                "a bundle carries only the texts its decision names"
            )
        if len(self.texts) >= MAX_TEXTS and "0x" + digest.hex() not in self.texts:
            raise ProcurechainError(f"a bundle carries at most {MAX_TEXTS} texts")
        self.texts["0x" + digest.hex()] = text
        return digest

    @property
    def action_hash(self) -> bytes:
        return self.action.digest(self.chain_id, self.consortium)

    @property
    def selector(self) -> bytes:
        return self.action.data[:4]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "chainId": self.chain_id,
            "consortium": self.consortium,
            "description": self.description,
            "action": {
                "target": self.action.target,
                "value": str(self.action.value),
                "data": "0x" + self.action.data.hex(),
                "nonce": str(self.action.nonce),
                "deadline": self.action.deadline,
            },
            "actionHash": "0x" + self.action_hash.hex(),
            "texts": [{"hash": h, "text": t} for h, t in sorted(self.texts.items())],
            "signatures": [
                {"signer": signer, "signature": "0x" + signature.hex()}
                if signer in self.signatures
                else {"signer": signer, "type": "contract", "signature": "0x" + signature.hex()}
                for signer, signature in sorted(
                    {**self.contract_signatures, **self.signatures}.items(), key=_address_key
                )
            ],
        }

    @classmethod
    def from_json(cls, document: Any, source: str = "bundle") -> Proposal:
        """Parse and verify a bundle: fields, action hash and every signature.

        Raises:
            ProcurechainError: the bundle is malformed, was changed after it was proposed,
                or carries a signature that is not its signer's.
        """
        try:
            if document.get("format") != BUNDLE_FORMAT:
                raise ProcurechainError(
                    f"{source} is not a procurechain proposal (format {document.get('format')!r})"
                )
            raw = document["action"]
            action = Action(
                target=_address(raw["target"], "action.target"),
                value=int(raw["value"]),
                data=_hex_bytes(raw["data"], "action.data"),
                nonce=int(raw["nonce"]),
                deadline=int(raw["deadline"]),
            )
            for name in ("value", "nonce", "deadline"):
                if not 0 <= getattr(action, name) < 2**256:
                    raise ProcurechainError(
                        f"{source}: action {name} {getattr(action, name)} does not fit in uint256"
                    )
            proposal = cls(
                chain_id=int(document["chainId"]),
                consortium=_address(document["consortium"], "consortium"),
                action=action,
                description=str(document.get("description", "")),
            )
            for entry in document.get("texts", []):
                text, digest = str(entry["text"]), str(entry["hash"]).lower()
                if "0x" + keccak(text=text).hex() != digest:
                    raise ProcurechainError(
                        f"{source}: a text does not match its hash {digest}; ask the proposer "
                        "for the original file"
                    )
                try:
                    proposal.add_text(text)
                except ProcurechainError as err:
                    raise ProcurechainError(f"{source}: {err}") from err
            recorded_hash = _hex_bytes(document["actionHash"], "actionHash")
            entries = document.get("signatures", [])
            if not isinstance(entries, list):
                raise ProcurechainError(f"{source}: 'signatures' must be a list")
            parsed = [
                (
                    _address(e["signer"], "signer"),
                    _hex_bytes(e["signature"], "signature"),
                    e.get("type", "ecdsa"),
                )
                for e in entries
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ProcurechainError(
                f"{source} is not a complete proposal bundle ({type(err).__name__}: {err}); "
                "ask the proposer for the original file"
            ) from err
        if recorded_hash != proposal.action_hash:
            raise ProcurechainError(
                f"{source} was changed after it was proposed: its action no longer matches its "
                "hash; ask the proposer for the original file"
            )
        for signer, signature, kind in parsed:
            if signer in proposal.signatures or signer in proposal.contract_signatures:
                raise ProcurechainError(f"{source} holds two signatures of {signer}")
            if kind == "contract":
                proposal.contract_signatures[signer] = signature
            elif kind == "ecdsa":
                _verify_signature(proposal.action_hash, signer, signature, source)
                proposal.signatures[signer] = signature
            else:
                raise ProcurechainError(
                    f"{source}: the signature of {signer} has unknown type {kind!r} "
                    "(expected 'ecdsa' or 'contract')"
                )
        return proposal

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bundle atomically (``files.write_atomic``: a reader never sees a
        half-written file)."""
        return write_atomic(path, json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Proposal:
        """Read and verify a bundle file."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ProcurechainError(f"cannot read proposal {source}: {err.strerror}") from err
        except UnicodeDecodeError as err:
            raise ProcurechainError(
                f"{source} is not a proposal bundle (not UTF-8 text); ask the proposer for the "
                "original file"
            ) from err
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise ProcurechainError(
                f"{source} is not valid JSON (truncated or corrupt at line {err.lineno}); "
                "ask the proposer for the original file"
            ) from err
        if not isinstance(document, dict):
            raise ProcurechainError(f"{source} is not a proposal bundle")
        return cls.from_json(document, source)


@dataclass(frozen=True)
class ProposalStatus:
    """Where a proposal stands on chain.

    ``signed`` lists members with an ECDSA signature in the bundle, ``signed_by_contract``
    member contracts whose EIP-1271 signature verifies now (and that did not also approve
    on-chain), ``left_out`` every signature in the bundle that does not count, with the reason
    (no longer a member, or a contract signature that does not verify now).
    """

    threshold: int
    required_roles: int
    members: dict[str, int]
    signed: list[str]
    approved_onchain: list[str]
    recused: dict[str, str]
    missing: list[str]
    counted: list[str]
    roles_present: int
    nonce_used: bool
    expired: bool
    signed_by_contract: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def roles_missing(self) -> int:
        return self.required_roles & ~self.roles_present

    @property
    def executable(self) -> bool:
        return (
            not self.nonce_used
            and not self.expired
            and len(self.counted) >= self.threshold
            and self.roles_missing == 0
        )

    def blockers(self) -> list[str]:
        """Why the proposal cannot be executed yet, one sentence each."""
        reasons = []
        if self.nonce_used:
            reasons.append("its nonce was already used (executed, or superseded)")
        if self.expired:
            reasons.append("its deadline has passed; propose it again")
        if len(self.counted) < self.threshold:
            reasons.append(f"{len(self.counted)} of {self.threshold} required approvals are in")
            reasons.extend(f"{who} does not count: {why}" for who, why in self.left_out.items())
        if self.roles_missing:
            reasons.append(
                f"still needs a signer with role {', '.join(role_names(self.roles_missing))}"
            )
        return reasons


def _address_key(item: tuple[str, bytes]) -> int:
    return int(item[0], 16)


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ProcurechainError(f"{what} {value!r} is not an address")
    return to_checksum_address(value)


def _hex_bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ProcurechainError(f"{what} must be a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as err:
        raise ProcurechainError(f"{what} is not valid hex") from err


def _verify_signature(digest: bytes, signer: str, signature: bytes, source: str) -> None:
    if len(signature) != 65:
        raise ProcurechainError(f"{source}: the signature of {signer} is not 65 bytes")
    try:
        recovered = Account._recover_hash(digest, signature=signature)
    except Exception as err:  # eth-keys raises several types for garbage input
        raise ProcurechainError(f"{source}: the signature of {signer} is malformed") from err
    if recovered != signer:
        raise ProcurechainError(
            f"{source}: the signature listed for {signer} was made by {recovered}; the bundle "
            "was tampered with"
        )


def _check_target(proposal: Proposal, consortium: Any) -> None:
    """Refuse a bundle meant for another chain or another consortium."""
    chain_id = network.chain_id()
    if proposal.chain_id != chain_id:
        raise ProcurechainError(
            f"this proposal is for chain {proposal.chain_id} but you are connected to chain "
            f"{chain_id}; use --network for the right chain"
        )
    if to_checksum_address(str(consortium.address)) != proposal.consortium:
        raise ProcurechainError(
            f"this proposal is for consortium {proposal.consortium}, not {consortium.address}"
        )
    domain = consortium.eip712Domain()
    name, version, domain_chain, verifying = domain[1], domain[2], domain[3], domain[4]
    if (name, version, domain_chain, to_checksum_address(verifying)) != (
        DOMAIN_NAME,
        DOMAIN_VERSION,
        chain_id,
        proposal.consortium,
    ):
        raise ProcurechainError(
            f"the contract at {proposal.consortium} is not a procurechain consortium "
            f"(EIP-712 domain {name!r} v{version})"
        )


def signature_bytes(signature: Any) -> bytes:
    """An Ape ``MessageSignature`` as the 65 bytes ``r || s || v`` the contract takes."""
    r, s = bytes(signature.r), bytes(signature.s)
    if len(r) > 32 or len(s) > 32:
        raise ProcurechainError("the account returned a malformed signature")
    return r.rjust(32, b"\0") + s.rjust(32, b"\0") + bytes([signature.v])


def next_nonce(consortium: Any, avoid: Iterable[int] = ()) -> int:
    """The lowest nonce the consortium has not used and that is not in ``avoid``.

    Low nonces share bitmap words, so executing them costs less gas than random ones.
    """
    taken = set(avoid)
    word = 0
    while True:
        bits = int(consortium.nonceBitmap(word))
        if bits != (1 << 256) - 1:
            for bit in range(256):
                nonce = word * 256 + bit
                if not bits & (1 << bit) and nonce not in taken:
                    return nonce
        word += 1


def propose(
    consortium: Any,
    call: Call,
    *,
    nonce: int | None = None,
    deadline: int | None = None,
    ttl: int = DEFAULT_TTL,
    avoid_nonces: Iterable[int] = (),
) -> Proposal:
    """Create an unsigned proposal for ``call``.

    Args:
        consortium: the Consortium contract instance.
        call: what to do (see :mod:`procurechain.calls`).
        nonce: a specific unused nonce; default: the lowest free one not in ``avoid_nonces``.
        deadline: unix time after which the action cannot execute; default: now + ``ttl``.
        ttl: seconds of validity when ``deadline`` is not given.
        avoid_nonces: nonces of other pending proposals.
    """
    from ape import chain

    if nonce is None:
        nonce = next_nonce(consortium, avoid_nonces)
    elif consortium.isNonceUsed(nonce):
        raise ProcurechainError(f"nonce {nonce} is already used; leave it out to pick a free one")
    if deadline is None:
        deadline = chain.blocks.head.timestamp + ttl
    action = Action(
        target=call.target, value=call.value, data=call.data, nonce=nonce, deadline=deadline
    )
    return Proposal(
        chain_id=network.chain_id(),
        consortium=to_checksum_address(str(consortium.address)),
        action=action,
        description=call.description,
    )


def sign(proposal: Proposal, consortium: Any, account: Any) -> Proposal:
    """Add ``account``'s EIP-712 signature to the proposal (the bundle itself is not written).

    Raises:
        ProcurechainError: wrong chain or consortium, not a member, or the signer refused.
    """
    _check_target(proposal, consortium)
    signer = to_checksum_address(str(account.address))
    if not consortium.isMember(signer):
        raise ProcurechainError(f"{signer} is not a member of consortium {proposal.consortium}")
    signature = account.sign_message(
        proposal.action.signable(proposal.chain_id, proposal.consortium)
    )
    if signature is None:
        raise ProcurechainError(f"{signer} declined to sign; the bundle is unchanged")
    encoded = signature_bytes(signature)
    _verify_signature(proposal.action_hash, signer, encoded, "the new signature")
    proposal.signatures[signer] = encoded
    return proposal


_WALLET_TYPES = {
    "EIP712Domain": [
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "SafeMessage": [{"name": "message", "type": "bytes"}],
}


def wallet_message(proposal: Proposal, wallet: str) -> SignableMessage:
    """What an owner of the member contract ``wallet`` signs so that the wallet signs the
    proposal: Safe's ``SafeMessage(bytes message)`` with ``message`` = the action hash, under
    the wallet's domain (chain id, wallet address), as Safe's CompatibilityFallbackHandler and
    ``contracts/test/ContractSigner.sol`` verify it."""
    return encode_typed_data(
        full_message={
            "types": _WALLET_TYPES,
            "primaryType": "SafeMessage",
            "domain": {"chainId": proposal.chain_id, "verifyingContract": wallet},
            "message": {"message": proposal.action_hash},
        }
    )


def check_contract_signature(
    proposal: Proposal, consortium: Any, member: str, data: bytes
) -> str | None:
    """Ask member contract ``member`` now whether ``data`` is its signature of the proposal,
    exactly as ``execute`` will: through the consortium's ``isValidContractSignature`` (EIP-1271
    in a staticcall from the consortium), with at most :data:`CONTRACT_CHECK_GAS` gas.

    Returns:
        ``None`` if the wallet accepts, else why not, in a few words.
    """
    from ape import chain

    web3 = chain.provider.web3
    wallet = to_checksum_address(member)
    verdict = _eth_call(
        web3,
        str(consortium.address),
        consortium.isValidContractSignature.encode_input(wallet, proposal.action_hash, data),
    )
    if isinstance(verdict, bytes) and verdict[:32] == (1).to_bytes(32, "big"):
        return None
    # Refused: ask the wallet directly (not static) only to say why.
    question = keccak(text="isValidSignature(bytes32,bytes)")[:4] + encode(
        ["bytes32", "bytes"], [proposal.action_hash, data]
    )
    answer = _eth_call(web3, wallet, question, sender=str(consortium.address))
    if isinstance(answer, str):
        return answer
    if answer[:32] == EIP1271_MAGIC + bytes(28):
        return "the wallet accepts only when it may change state (it writes or calls out)"
    return "the wallet does not accept the signature"


def _eth_call(web3: Any, to: str, data: bytes, sender: str | None = None) -> bytes | str:
    """The return data of a gas-capped ``eth_call``, or why it failed (a short sentence)."""
    request: dict[str, Any] = {
        "to": to_checksum_address(to),
        "data": "0x" + bytes(data).hex(),
        "gas": CONTRACT_CHECK_GAS,
    }
    if sender is not None:
        request["from"] = to_checksum_address(sender)
    try:
        return bytes(web3.eth.call(request))
    except Exception as err:  # web3 raises several types for reverts and exhausted gas
        revert = getattr(err, "data", None)
        if isinstance(revert, str) and revert.startswith("0x") and len(revert) > 2:
            decoded = decode_revert(bytes.fromhex(revert[2:]))
            if decoded:
                return f"the wallet reverted ({describe_error(*decoded)})"
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"the wallet's check failed within {CONTRACT_CHECK_GAS:,} gas ({message[:120]})"


def add_contract_signature(
    proposal: Proposal, consortium: Any, member: Any, data: bytes
) -> Proposal:
    """Add member contract ``member``'s EIP-1271 signature ``data`` (whatever the wallet's
    ``isValidSignature(actionHash, data)`` accepts: e.g. its owners' signatures of
    :func:`wallet_message`, or empty for a Safe that signed the message on chain).

    Raises:
        ProcurechainError: wrong chain or consortium, not a member, not a contract, or the
            wallet does not accept the data now (the bundle is then unchanged).
    """
    _check_target(proposal, consortium)
    wallet = to_checksum_address(str(getattr(member, "address", member)))
    if not consortium.isMember(wallet):
        raise ProcurechainError(f"{wallet} is not a member of consortium {proposal.consortium}")
    from ape import chain

    if not chain.provider.get_code(wallet):
        raise ProcurechainError(
            f"{wallet} is not a contract; an account with a key signs with `sign`"
        )
    if wallet in proposal.signatures:
        raise ProcurechainError(f"the bundle already holds an ECDSA signature of {wallet}")
    problem = check_contract_signature(proposal, consortium, wallet, bytes(data))
    if problem is not None:
        raise ProcurechainError(
            f"{wallet} does not accept this signature now: {problem}; the bundle is unchanged"
        )
    proposal.contract_signatures[wallet] = bytes(data)
    return proposal


def sign_as_contract(proposal: Proposal, consortium: Any, member: Any, owner: Any) -> Proposal:
    """Sign for member contract ``member`` as its owner ``owner`` (an Ape account): ``owner``
    signs :func:`wallet_message`, and the signature is added as the wallet's EIP-1271
    signature once the wallet accepts it (a 1-of-1 Safe, ``ContractSigner``).

    Raises:
        ProcurechainError: as :func:`add_contract_signature` (e.g. ``owner`` is not the
            wallet's owner), or the owner declined to sign.
    """
    _check_target(proposal, consortium)
    wallet = to_checksum_address(str(getattr(member, "address", member)))
    signature = owner.sign_message(wallet_message(proposal, wallet))
    if signature is None:
        raise ProcurechainError(f"{owner.address} declined to sign; the bundle is unchanged")
    return add_contract_signature(proposal, consortium, wallet, signature_bytes(signature))


def approve(proposal: Proposal, consortium: Any, account: Any) -> Any:
    """Approve the proposal's action hash on-chain from ``account`` (for hardware or contract
    wallets); returns the receipt."""
    _check_target(proposal, consortium)
    if not consortium.isMember(account.address):
        raise ProcurechainError(f"{account.address} is not a member of the consortium")
    return consortium.approveHash(proposal.action_hash, sender=account)


def revoke(proposal: Proposal, consortium: Any, account: Any) -> Any:
    """Withdraw ``account``'s on-chain approval of the proposal; returns the receipt."""
    _check_target(proposal, consortium)
    if not consortium.isApproved(account.address, proposal.action_hash):
        raise ProcurechainError(f"{account.address} has no on-chain approval of this proposal")
    return consortium.revokeApproval(proposal.action_hash, sender=account)


def _address_arg(data: bytes, k: int) -> str | None:
    """The ``k``-th static argument of calldata as an address (None if absent or zero)."""
    end = 4 + 32 * k
    if not k or len(data) < end:
        return None
    subject = to_checksum_address(data[end - 32 : end][12:])
    return subject if int(subject, 16) else None


def _subjects(proposal: Proposal, consortium: Any) -> tuple[int, int, list[str], str | None]:
    """The roles the action's policy needs, the governance roles (an action on the consortium
    itself), the subjects named by it (its target and the policy's argument) and, for an
    action on the consortium itself, the member it names first (who does not count). Mirrors
    ``Consortium._authorize``."""
    required, subject_arg = consortium.policyOf(proposal.selector or b"\x00" * 4)
    required, governance = int(required), 0
    subjects = [proposal.action.target]
    named = _address_arg(proposal.action.data, int(subject_arg))
    if named:
        subjects.append(named)
    itself = None
    if proposal.action.target == to_checksum_address(str(consortium.address)):
        governance = int(consortium.governanceRoles())
        itself = _address_arg(proposal.action.data, 1)
        if proposal.selector == LIFT_CONFLICT:  # those in conflict with the subject are out
            lifted = _address_arg(proposal.action.data, 2)
            subjects += [lifted] if lifted else []
    return required, governance, subjects, itself


PARTY_AMONG = keccak(text="partyAmong(address[])")[:4]
LIFT_CONFLICT = keccak(text="liftConflict(address,address)")[:4]


def party_among(target: str, candidates: list[str]) -> str | None:
    """The first of ``candidates`` that takes part in the procurement ``target`` belongs to
    (a Tender's or an Agreement's ``partyAmong``), or None; None for a target without it."""
    from ape import chain

    if not candidates or not chain.provider.get_code(target):
        return None
    data = PARTY_AMONG + encode(["address[]"], [candidates])
    try:
        raw = chain.provider.web3.eth.call({"to": target, "data": data})
    except ContractLogicError:  # no partyAmong: a target without parties
        return None
    if len(raw) != 32:
        return None
    (party,) = decode(["uint256"], bytes(raw))
    return to_checksum_address(party.to_bytes(32, "big")[12:]) if party else None


def recusal(member: str, subjects: list[str], target: str, consortium: Any) -> str | None:
    """Why ``member`` does not count for an action on ``target`` naming ``subjects``: the
    subject of its declared conflict (the target, a named address, or any party of the
    target's procurement), or None."""
    if not int(consortium.memberInfo(member)[2]):
        return None
    for subject in subjects:
        if int.from_bytes(bytes(consortium.conflictOf(member, subject)), "big"):
            return subject
    if target == to_checksum_address(str(consortium.address)):
        return None
    declared = [to_checksum_address(a) for a in consortium.conflictsOf(member)]
    return party_among(target, declared)


def status(proposal: Proposal, consortium: Any) -> ProposalStatus:
    """Who signed or approved, who is missing, who is recused, which roles are still needed.

    Every contract signature is checked again now (a capped ``eth_call`` of the wallet's
    ``isValidSignature``); one that does not verify is listed in ``left_out`` and not counted.
    """
    from ape import chain

    _check_target(proposal, consortium)
    required, governance, subjects, itself = _subjects(proposal, consortium)
    digest = proposal.action_hash
    members: dict[str, int] = {}
    for address in consortium.members():
        address = to_checksum_address(address)
        members[address] = int(consortium.memberInfo(address)[1])
    recused: dict[str, str] = {}
    for address in members:
        reason = address if address == itself else None
        reason = reason or recusal(address, subjects, proposal.action.target, consortium)
        if reason:
            recused[address] = reason
    left_out = {
        signer: "not a member (any more)"
        for signer in [*proposal.signatures, *proposal.contract_signatures]
        if signer not in members
    }
    signed = [a for a in proposal.signatures if a in members]
    onchain = [a for a in members if consortium.isApproved(a, digest)]
    by_contract = []
    for member, data in proposal.contract_signatures.items():
        if member not in members or member in recused or member in onchain:
            continue
        problem = check_contract_signature(proposal, consortium, member, data)
        if problem is None:
            by_contract.append(member)
        else:
            left_out[member] = problem
    counted = sorted({*signed, *by_contract, *onchain} - set(recused), key=lambda a: int(a, 16))
    roles_present = 0
    for address in counted:
        roles_present |= members[address]
    # governance needs its roles unless all members but one sign (Consortium.governanceOverride)
    if governance and len(counted) < int(consortium.governanceOverride()):
        required |= governance
    missing = [a for a in members if a not in counted and a not in recused]
    return ProposalStatus(
        threshold=int(consortium.threshold()),
        required_roles=required,
        members=members,
        signed=signed,
        approved_onchain=onchain,
        recused=recused,
        missing=missing,
        counted=counted,
        roles_present=roles_present,
        nonce_used=bool(consortium.isNonceUsed(proposal.action.nonce)),
        expired=chain.pending_timestamp > proposal.action.deadline,
        signed_by_contract=by_contract,
        left_out=left_out,
    )


def pack_signatures(
    proposal: Proposal, signers: Iterable[str], contract_signers: Iterable[str] | None = None
) -> bytes:
    """Pack the given signers' entries, sorted by address, as ``execute`` takes them.

    Each signer gets its bundle ECDSA signature if there is one; else its contract signature
    (when it is in ``contract_signers``, default: every contract signature in the bundle):
    an entry (r = the wallet, s = offset of its data, v = 0) whose data - a 32-byte length and
    the bytes - follows the entries; else an on-chain approval marker (r = address, s = 0,
    v = 1). A zero byte is appended when contract data would make the length a multiple of 65
    (the contract reads a whole number of entries as entries only).
    """
    chosen = proposal.contract_signatures if contract_signers is None else contract_signers
    use_contract = set(chosen)
    ordered = sorted(set(signers), key=lambda a: int(a, 16))
    head, tail = b"", b""
    for signer in ordered:
        address = bytes(12) + bytes.fromhex(signer[2:])
        if signer in proposal.signatures:
            head += proposal.signatures[signer]
        elif signer in use_contract and signer in proposal.contract_signatures:
            offset = ENTRY_LENGTH * len(ordered) + len(tail)
            head += address + offset.to_bytes(32, "big") + bytes([CONTRACT_SIGNATURE_V])
            data = proposal.contract_signatures[signer]
            tail += len(data).to_bytes(32, "big") + data
        else:
            head += address + bytes(32) + bytes([APPROVED_HASH_V])
    packed = head + tail
    if tail and len(packed) % ENTRY_LENGTH == 0:
        packed += b"\0"
    return packed


def execute(proposal: Proposal, consortium: Any, sender: Any, registry: Any = None) -> Any:
    """Execute the proposal with every counted signature and approval; returns the receipt.

    The texts the bundle carries (reasons, reports) are first put on the record through
    ``registry`` (``Registry.publish``, once each), so the decision's hashes resolve to words.

    Recused members' signatures, signatures of former members and contract signatures that do
    not verify now are left out (they would make the contract revert). Nothing is sent when
    the proposal cannot pass.

    Raises:
        ProcurechainError: not enough approvals, a required role missing, expired or used.
    """
    current = status(proposal, consortium)
    if not current.executable:
        raise ProcurechainError("cannot execute yet: " + "; ".join(current.blockers()))
    if proposal.texts:
        if registry is None:
            raise ProcurechainError(
                "the proposal carries texts for the record and no registry was given to "
                "publish them; deploy first or pass --registry"
            )
        from procurechain.record.content import publish_text

        for text in proposal.texts.values():
            publish_text(registry, sender, text)  # once: a text already there is not sent
    signatures = pack_signatures(proposal, current.counted, current.signed_by_contract)
    return consortium.execute(proposal.action.as_tuple(), signatures, sender=sender)
