// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IConsortiumMembers} from "./interfaces/IConsortiumMembers.sol";
import {IProcurementParty} from "./interfaces/IProcurementParty.sol";

/// @title Consortium
/// @notice The authority over every privileged step of a procurement: an M-of-N multisig whose
/// members hold roles (agency, auditor, citizen, technical, legal), with per-function role
/// requirements, conflict-of-interest recusal and unordered single-use nonces.
/// @dev An action is the EIP-712 struct
/// `Action(address target,uint256 value,bytes data,uint256 nonce,uint256 deadline)`.
/// Members sign it off-chain (ECDSA, low-s only), approve its hash on-chain, or - for a member
/// that is a contract wallet - sign through EIP-1271; anyone may then submit it to {execute}
/// with one 65-byte entry per signer, sorted by signer address. Entries are Safe-style:
/// an ECDSA signature is (r, s, v); an on-chain approval is (r = the member, s = 0, v = 1); a
/// contract signature is (r = the member contract, s = offset, v = 0), where `offset` points
/// (within the packed bytes, after all entries) at a 32-byte length followed by the data the
/// member's `isValidSignature(actionHash, data)` must accept.
/// Membership, roles, threshold, policies and recusal lifts change only through {execute}
/// on this contract itself.
contract Consortium is IConsortiumMembers, EIP712, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;

    // ------------------------------------------------------------------ roles

    uint8 public constant AGENCY = 1 << 0;
    uint8 public constant AUDITOR = 1 << 1;
    uint8 public constant CITIZEN = 1 << 2;
    uint8 public constant TECHNICAL = 1 << 3;
    uint8 public constant LEGAL = 1 << 4;
    uint8 private constant _ALL_ROLES = (1 << 5) - 1;
    uint256 private constant _ROLE_COUNT = 5;

    bytes32 public constant ACTION_TYPEHASH =
        keccak256("Action(address target,uint256 value,bytes data,uint256 nonce,uint256 deadline)");

    /// @notice The most open conflict declarations one member may have (recusal checks loop
    /// over them); a member with more should be replaced, or have old ones lifted.
    uint256 public constant MAX_CONFLICTS = 16;
    /// @dev Gas handed to a target's `partyAmong` (a Tender or Agreement needs a small fraction).
    uint256 private constant _PARTY_QUERY_GAS = 150_000;

    uint256 private constant _SIGNATURE_LENGTH = 65;
    uint8 private constant _APPROVED_HASH_V = 1;
    uint8 private constant _CONTRACT_SIGNATURE_V = 0;

    // ------------------------------------------------------------------ storage

    /// @notice What the consortium is asked to do: `target.call{value}(data)`, once (nonce),
    /// before `deadline` (a unix timestamp).
    struct Action {
        address target;
        uint256 value;
        bytes data;
        uint256 nonce;
        uint256 deadline;
    }

    struct Member {
        bool active;
        uint8 roles;
        /// number of open conflict declarations (kept across removal and re-admission)
        uint32 conflicts;
    }

    struct Policy {
        /// every role bit set here must be held by at least one signer
        uint8 requiredRoles;
        /// 0: none; k: the k-th 32-byte argument of the call is an address that is also a
        /// subject of the action (members recused for it do not count)
        uint8 subjectArg;
    }

    EnumerableSet.AddressSet private _memberSet;
    mapping(address member => Member) private _members;
    /// member => subject => reason hash (non-zero while recused)
    mapping(address member => mapping(address subject => bytes32 reasonHash)) private _conflicts;
    /// member => every subject it has an open conflict with (at most MAX_CONFLICTS)
    mapping(address member => EnumerableSet.AddressSet) private _conflictSubjects;
    mapping(bytes4 selector => Policy) private _policies;
    /// unordered nonces: bit (nonce & 255) of word (nonce >> 8) is set once the nonce is used
    mapping(uint256 word => uint256 bits) private _nonceBitmap;
    mapping(address member => mapping(bytes32 actionHash => bool)) private _approvals;

    uint16 private _threshold;
    /// how many active members hold each role
    uint16[_ROLE_COUNT] private _roleHolders;
    /// how many policies require each role
    uint16[_ROLE_COUNT] private _roleRequirements;

    // ------------------------------------------------------------------ events

    event MemberAdded(address indexed member, uint8 roles);
    event MemberRemoved(address indexed member);
    event MemberRolesChanged(address indexed member, uint8 previousRoles, uint8 roles);
    event ThresholdChanged(uint256 previousThreshold, uint256 threshold);
    event PolicySet(bytes4 indexed selector, uint8 requiredRoles, uint8 subjectArg);
    event ConflictDeclared(address indexed member, address indexed subject, bytes32 reasonHash);
    event ConflictLifted(address indexed member, address indexed subject);
    event ActionApproved(bytes32 indexed actionHash, address indexed member);
    event ApprovalRevoked(bytes32 indexed actionHash, address indexed member);
    event ActionExecuted(
        bytes32 indexed actionHash,
        address indexed target,
        bytes4 indexed selector,
        uint256 value,
        address[] signers
    );
    event FundsReceived(address indexed sender, uint256 amount);

    // ------------------------------------------------------------------ errors

    error ConsortiumNotSelf(address caller);
    error ConsortiumNotMember(address account);
    error ConsortiumAlreadyMember(address account);
    error ConsortiumInvalidMember(address account);
    error ConsortiumInvalidRoles(uint8 roles);
    error ConsortiumInvalidThreshold(uint256 threshold, uint256 memberCount);
    error ConsortiumThresholdUnreachable(uint256 threshold, uint256 memberCountAfter);
    error ConsortiumRoleStillRequired(uint8 role);
    error ConsortiumRoleUnfilled(uint8 role);
    error ConsortiumInvalidSubjectArg(uint8 subjectArg);
    error ConsortiumLengthMismatch(uint256 members, uint256 roles);
    error ConsortiumActionExpired(uint256 deadline, uint256 now_);
    error ConsortiumNonceUsed(uint256 nonce);
    error ConsortiumSignatureLength(uint256 length);
    error ConsortiumBelowThreshold(uint256 signers, uint256 threshold);
    error ConsortiumInvalidSignature(uint256 index);
    error ConsortiumInvalidContractSignature(uint256 index, address signer);
    error ConsortiumContractSignatureOutOfBounds(uint256 index, uint256 dataOffset, uint256 length);
    error ConsortiumMalleableSignature(uint256 index, bytes32 s);
    error ConsortiumSignersNotSorted(uint256 index, address signer, address previous);
    error ConsortiumNotApproved(address member, bytes32 actionHash);
    error ConsortiumSignerRecused(address signer, address subject);
    error ConsortiumMissingRoles(uint8 required, uint8 present);
    error ConsortiumEmptyReason();
    error ConsortiumConflictAlreadyDeclared(address member, address subject);
    error ConsortiumNoConflict(address member, address subject);
    error ConsortiumTooManyConflicts(address member, uint256 max);
    error ConsortiumInvalidConflictSubject(address subject);
    error ConsortiumSignerIsSubject(address signer);
    error ConsortiumTargetNotContract(address target);
    error ConsortiumValueMismatch(uint256 sent, uint256 value);
    error ConsortiumInsufficientGas(uint256 gasLeft, uint256 needed);

    // ------------------------------------------------------------------ modifiers

    modifier onlySelf() {
        _checkSelf();
        _;
    }

    modifier onlyMember() {
        _checkMember(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ construction

    /// @notice Creates the consortium with its first members, threshold and policies.
    /// @param members initial members (distinct, non-zero)
    /// @param roles role bits of each member (non-zero, within AGENCY..LEGAL)
    /// @param threshold signatures needed, 1 <= threshold <= members.length
    /// @param selectors function selectors that get a policy
    /// @param policies the policy of each selector
    constructor(
        address[] memory members,
        uint8[] memory roles,
        uint256 threshold,
        bytes4[] memory selectors,
        Policy[] memory policies
    ) EIP712("procurechain Consortium", "1") {
        if (members.length != roles.length) revert ConsortiumLengthMismatch(members.length, roles.length);
        if (selectors.length != policies.length) {
            revert ConsortiumLengthMismatch(selectors.length, policies.length);
        }
        for (uint256 i = 0; i < members.length; ++i) {
            _addMember(members[i], roles[i]);
        }
        _setThreshold(threshold);
        for (uint256 i = 0; i < selectors.length; ++i) {
            _setPolicy(selectors[i], policies[i].requiredRoles, policies[i].subjectArg);
        }
    }

    /// @notice Accepts ether, so actions may carry value.
    /// @dev Emits {FundsReceived}.
    receive() external payable {
        emit FundsReceived(msg.sender, msg.value);
    }

    // ------------------------------------------------------------------ execution

    /// @notice Executes an action approved by enough members: `target.call{value}(data)`.
    /// @param action the action, exactly as signed
    /// @param signatures the packed signatures and approvals
    /// @dev Anyone may submit. `signatures` packs 65 bytes per signer (r, s, v), sorted by
    /// strictly increasing signer address; an on-chain approval is (r = member, s = 0, v = 1);
    /// a contract signature is (r = member, s = offset of its data, v = 0), the data (32-byte
    /// length, bytes) appended after the last entry. A contract signature is checked with
    /// EIP-1271 through a staticcall (the member cannot change state while it answers); one
    /// that does not answer the magic value - refuses, reverts, runs out of gas - makes the
    /// execution revert naming it. Such a member can burn at most the gas the submitter
    /// allowed: the Python library checks every contract signature with a capped `eth_call`
    /// and leaves out those that do not verify, as it does for recused members.
    /// The nonce is consumed before the call; if the call reverts, its revert data is re-raised
    /// and nothing (not even the nonce) is consumed. Ether sent along must be exactly
    /// `action.value` (or none: the value is then paid from the consortium's balance).
    /// A member recused for any party of the target's procurement (see {declareConflict}) does
    /// not count; an action on the consortium itself also needs every role some policy requires
    /// and never counts the member it names first.
    /// Emits {ActionExecuted}.
    /// Reverts with ConsortiumActionExpired, ConsortiumNonceUsed, ConsortiumSignatureLength,
    /// ConsortiumBelowThreshold, ConsortiumInvalidSignature, ConsortiumMalleableSignature,
    /// ConsortiumSignersNotSorted, ConsortiumNotApproved, ConsortiumNotMember,
    /// ConsortiumSignerRecused, ConsortiumContractSignatureOutOfBounds,
    /// ConsortiumInvalidContractSignature, ConsortiumMissingRoles, ConsortiumValueMismatch,
    /// ConsortiumTargetNotContract, ConsortiumSignerIsSubject, ConsortiumInsufficientGas, or the
    /// call's own error.
    /// @return the call's return data
    function execute(Action calldata action, bytes calldata signatures)
        external
        payable
        nonReentrant
        returns (bytes memory)
    {
        if (block.timestamp > action.deadline) revert ConsortiumActionExpired(action.deadline, block.timestamp);
        if (msg.value != 0 && msg.value != action.value) revert ConsortiumValueMismatch(msg.value, action.value);
        // A call to an address without code would "succeed" and burn the nonce (clone addresses
        // are predictable); a plain ether payment (no data) may still go to any account.
        if (action.data.length != 0 && action.target.code.length == 0) {
            revert ConsortiumTargetNotContract(action.target);
        }
        _useNonce(action.nonce);

        bytes32 actionHash = hashAction(action);
        bytes4 selector = _selectorOf(action.data);
        address[] memory signers = _authorize(actionHash, action, selector, signatures);
        emit ActionExecuted(actionHash, action.target, selector, action.value, signers);

        (bool success, bytes memory returndata) = action.target.call{value: action.value}(action.data);
        return Address.verifyCallResult(success, returndata);
    }

    /// @notice Approves an action hash on-chain; counts exactly like a signature.
    /// @dev Members only. Emits {ActionApproved}. Reverts with ConsortiumNotMember.
    function approveHash(bytes32 actionHash) external onlyMember {
        _approvals[msg.sender][actionHash] = true;
        emit ActionApproved(actionHash, msg.sender);
    }

    /// @notice Withdraws an on-chain approval before the action is executed.
    /// @dev Emits {ApprovalRevoked}. Reverts with ConsortiumNotApproved if there is none.
    function revokeApproval(bytes32 actionHash) external {
        if (!_approvals[msg.sender][actionHash]) revert ConsortiumNotApproved(msg.sender, actionHash);
        delete _approvals[msg.sender][actionHash];
        emit ApprovalRevoked(actionHash, msg.sender);
    }

    // ------------------------------------------------------------------ conflicts of interest

    /// @notice Declares the caller's conflict of interest with `subject` (a tender, an
    /// agreement, a bidder, a buying agency). From now on the caller's signature and approval do
    /// not count for actions aimed at that subject, naming it, or aimed at any procurement it
    /// takes part in: a conflict with a bidder recuses the member from every decision on the
    /// tenders it bids in and on the agreements they lead to.
    /// @dev Members only. Emits {ConflictDeclared}. Reverts with ConsortiumNotMember,
    /// ConsortiumEmptyReason, ConsortiumInvalidConflictSubject (zero or the consortium itself),
    /// ConsortiumConflictAlreadyDeclared, ConsortiumTooManyConflicts.
    /// @param reasonHash hash of the published declaration (non-zero)
    function declareConflict(address subject, bytes32 reasonHash) external onlyMember {
        if (reasonHash == bytes32(0)) revert ConsortiumEmptyReason();
        // A conflict with the consortium itself would recuse the member from every change of
        // it, its own conflict's lifting included: one member could freeze governance.
        if (subject == address(0) || subject == address(this)) revert ConsortiumInvalidConflictSubject(subject);
        EnumerableSet.AddressSet storage subjects = _conflictSubjects[msg.sender];
        if (subjects.contains(subject)) revert ConsortiumConflictAlreadyDeclared(msg.sender, subject);
        if (subjects.length() >= MAX_CONFLICTS) revert ConsortiumTooManyConflicts(msg.sender, MAX_CONFLICTS);
        if (!subjects.add(subject)) revert ConsortiumConflictAlreadyDeclared(msg.sender, subject);
        _conflicts[msg.sender][subject] = reasonHash;
        ++_members[msg.sender].conflicts;
        emit ConflictDeclared(msg.sender, subject, reasonHash);
    }

    /// @notice Lifts a member's recusal. Only through {execute} on this contract, where the
    /// member itself does not count.
    /// @dev Emits {ConflictLifted}. Reverts with ConsortiumNotSelf, ConsortiumNoConflict.
    function liftConflict(address member, address subject) external onlySelf {
        if (!_conflictSubjects[member].remove(subject)) revert ConsortiumNoConflict(member, subject);
        delete _conflicts[member][subject];
        --_members[member].conflicts;
        emit ConflictLifted(member, subject);
    }

    // ------------------------------------------------------------------ self-governance

    /// @notice Adds a member with the given role bits. Only through {execute}.
    /// @dev Emits {MemberAdded}. Reverts with ConsortiumNotSelf, ConsortiumInvalidMember,
    /// ConsortiumAlreadyMember, ConsortiumInvalidRoles.
    function addMember(address member, uint8 roles) external onlySelf {
        _addMember(member, roles);
    }

    /// @notice Removes a member. Only through {execute}.
    /// @dev Emits {MemberRemoved}. Reverts with ConsortiumNotSelf, ConsortiumNotMember,
    /// ConsortiumThresholdUnreachable (fewer members than the threshold would remain),
    /// ConsortiumRoleStillRequired (the last holder of a role some policy requires).
    function removeMember(address member) external onlySelf {
        if (!_memberSet.remove(member)) revert ConsortiumNotMember(member);
        uint256 remaining = _memberSet.length();
        if (remaining < _threshold) revert ConsortiumThresholdUnreachable(_threshold, remaining);
        Member storage m = _members[member];
        _changeRoleHolders(m.roles, 0);
        m.active = false;
        m.roles = 0;
        emit MemberRemoved(member);
    }

    /// @notice Replaces a member's role bits. Only through {execute}.
    /// @dev Emits {MemberRolesChanged}. Reverts with ConsortiumNotSelf, ConsortiumNotMember,
    /// ConsortiumInvalidRoles, ConsortiumRoleStillRequired.
    function setMemberRoles(address member, uint8 roles) external onlySelf {
        Member storage m = _members[member];
        if (!m.active) revert ConsortiumNotMember(member);
        _checkRoles(roles);
        uint8 previous = m.roles;
        _changeRoleHolders(previous, roles);
        m.roles = roles;
        emit MemberRolesChanged(member, previous, roles);
    }

    /// @notice Sets how many signatures an action needs. Only through {execute}.
    /// @dev Emits {ThresholdChanged}. Reverts with ConsortiumNotSelf, ConsortiumInvalidThreshold.
    function setThreshold(uint256 threshold) external onlySelf {
        _setThreshold(threshold);
    }

    /// @notice Sets the role requirement and subject argument for a function selector.
    /// Only through {execute}.
    /// @dev Emits {PolicySet}. Reverts with ConsortiumNotSelf, ConsortiumInvalidRoles,
    /// ConsortiumRoleUnfilled (no current member holds a required role),
    /// ConsortiumInvalidSubjectArg.
    function setPolicy(bytes4 selector, uint8 requiredRoles, uint8 subjectArg) external onlySelf {
        _setPolicy(selector, requiredRoles, subjectArg);
    }

    // ------------------------------------------------------------------ views

    /// @notice The EIP-712 digest members sign (or approve on-chain) for an action.
    function hashAction(Action calldata action) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ACTION_TYPEHASH,
                    action.target,
                    action.value,
                    keccak256(action.data),
                    action.nonce,
                    action.deadline
                )
            )
        );
    }

    /// @notice Whether contract `signer` accepts `signature` as its signature of `hash` right
    /// now, asked exactly as {execute} asks a member contract: EIP-1271 through a staticcall
    /// from this contract, so a wallet that only answers when it may write state or call out
    /// answers "no" here too. Off-chain tools call it (with a gas cap) before packing.
    function isValidContractSignature(
        address signer,
        bytes32 hash,
        bytes calldata signature
    ) external view returns (bool) {
        return SignatureChecker.isValidERC1271SignatureNow(signer, hash, signature);
    }

    /// @notice All current members, in no particular order.
    function members() external view returns (address[] memory) {
        return _memberSet.values();
    }

    /// @notice Number of current members.
    function memberCount() external view returns (uint256) {
        return _memberSet.length();
    }

    /// @notice Whether `account` is a current member, its role bits and its open conflicts.
    function memberInfo(address account) external view returns (bool active, uint8 roles, uint32 conflicts) {
        Member memory m = _members[account];
        return (m.active, m.roles, m.conflicts);
    }

    /// @inheritdoc IConsortiumMembers
    function isMember(address account) external view returns (bool) {
        return _members[account].active;
    }

    /// @notice Signatures an action needs.
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @notice Role requirement and subject argument for a selector (zeros if none).
    function policyOf(bytes4 selector) external view returns (uint8 requiredRoles, uint8 subjectArg) {
        Policy memory p = _policies[selector];
        return (p.requiredRoles, p.subjectArg);
    }

    /// @notice Number of current members holding `role` (a single role bit).
    function roleHolders(uint8 role) external view returns (uint256) {
        return _roleHolders[_roleIndex(role)];
    }

    /// @notice The reason hash of `member`'s declared conflict with `subject`, zero if none.
    function conflictOf(address member, address subject) external view returns (bytes32) {
        return _conflicts[member][subject];
    }

    /// @notice Every subject `member` has an open conflict declaration with (at most
    /// {MAX_CONFLICTS}), in no particular order.
    function conflictsOf(address member) external view returns (address[] memory) {
        return _conflictSubjects[member].values();
    }

    /// @notice The roles an action on the consortium itself needs: every role some policy
    /// requires, so no quorum can change who counts (or what is required) without them; only
    /// {governanceOverride} signers (all members but one) may act without them.
    function governanceRoles() public view returns (uint8 roles) {
        for (uint256 i = 0; i < _ROLE_COUNT; ++i) {
            if (_roleRequirements[i] != 0) roles |= uint8(1 << i);
        }
    }

    /// @notice How many counted signers an action on the consortium needs to pass without the
    /// {governanceRoles}: all members but one, and more than the threshold.
    function governanceOverride() public view returns (uint256) {
        uint256 allButOne = _memberSet.length() - 1;
        return allButOne > _threshold ? allButOne : _threshold + 1;
    }

    /// @notice Whether `member` approved `actionHash` on-chain.
    function isApproved(address member, bytes32 actionHash) external view returns (bool) {
        return _approvals[member][actionHash];
    }

    /// @notice Whether `nonce` was used by an executed action.
    function isNonceUsed(uint256 nonce) external view returns (bool) {
        return _nonceBitmap[nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice The used-nonce bits of one 256-nonce word (nonces word*256 .. word*256+255).
    function nonceBitmap(uint256 word) external view returns (uint256) {
        return _nonceBitmap[word];
    }

    // ------------------------------------------------------------------ internals

    function _checkSelf() internal view {
        if (msg.sender != address(this)) revert ConsortiumNotSelf(msg.sender);
    }

    function _checkMember(address account) internal view {
        if (!_members[account].active) revert ConsortiumNotMember(account);
    }

    function _checkRoles(uint8 roles) private pure {
        if (roles == 0 || roles & ~_ALL_ROLES != 0) revert ConsortiumInvalidRoles(roles);
    }

    function _useNonce(uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonceBitmap[nonce >> 8];
        if (bits & bit != 0) revert ConsortiumNonceUsed(nonce);
        _nonceBitmap[nonce >> 8] = bits | bit;
    }

    /// @dev Reads the `k`-th static argument as an address subject (zero when k is 0 or the
    /// calldata is too short to hold it).
    function _subjectFromArgs(bytes calldata data, uint8 k) private pure returns (address) {
        if (k == 0) return address(0);
        uint256 end = 4 + 32 * uint256(k);
        if (data.length < end) return address(0);
        return address(uint160(uint256(bytes32(data[end - 32:end]))));
    }

    function _selectorOf(bytes calldata data) private pure returns (bytes4) {
        return data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
    }

    /// @dev Checks the signatures against membership, order, recusal, threshold and the
    /// selector's role requirement; returns the signers.
    function _authorize(
        bytes32 actionHash,
        Action calldata action,
        bytes4 selector,
        bytes calldata signatures
    ) private view returns (address[] memory signers) {
        Policy memory policy = _policies[selector];
        address target = action.target;
        address argSubject = _subjectFromArgs(action.data, policy.subjectArg);
        address selfSubject = address(0);
        uint8 governance = 0;
        if (target == address(this)) {
            governance = governanceRoles();
            selfSubject = _subjectFromArgs(action.data, 1);
            // liftConflict(member, subject): those in conflict with the subject do not count
            if (selector == this.liftConflict.selector) argSubject = _subjectFromArgs(action.data, 2);
        }
        uint256 count = _entryCount(signatures);
        if (count < _threshold) revert ConsortiumBelowThreshold(count, _threshold);

        signers = new address[](count);
        address previous = address(0);
        uint8 present = 0;
        for (uint256 i = 0; i < count; ++i) {
            address signer = _recoverSigner(actionHash, signatures, i);
            if (signer <= previous) revert ConsortiumSignersNotSorted(i, signer, previous);
            Member memory m = _members[signer];
            if (!m.active) revert ConsortiumNotMember(signer);
            if (signer == selfSubject) revert ConsortiumSignerIsSubject(signer);
            if (m.conflicts != 0) _checkRecusal(signer, target, argSubject);
            present |= m.roles;
            signers[i] = signer;
            previous = signer;
        }
        uint8 required = policy.requiredRoles;
        if (present & required != required) revert ConsortiumMissingRoles(required, present);
        // Governance without a required role only by all members but one (e.g. to replace a
        // lost auditor), never by a bare quorum.
        if (present & governance != governance && count < governanceOverride()) {
            revert ConsortiumMissingRoles(required | governance, present);
        }
    }

    /// @dev Reverts when `signer` declared a conflict with the target, with the subject the
    /// policy names in the call, or with any party of the target's procurement (asked through
    /// {IProcurementParty-partyAmong}; a target without it, such as the Registry or this
    /// contract, has no parties beyond itself).
    function _checkRecusal(address signer, address target, address argSubject) private view {
        if (_conflicts[signer][target] != bytes32(0)) revert ConsortiumSignerRecused(signer, target);
        if (argSubject != address(0) && _conflicts[signer][argSubject] != bytes32(0)) {
            revert ConsortiumSignerRecused(signer, argSubject);
        }
        if (target == address(this) || target.code.length == 0) return;
        // The target gets a fixed gas allowance, and the submitter must leave enough for it: a
        // query starved on purpose must not read as "no party".
        uint256 needed = _PARTY_QUERY_GAS + _PARTY_QUERY_GAS / 63 + 5_000;
        if (gasleft() < needed) revert ConsortiumInsufficientGas(gasleft(), needed);
        bytes memory query = abi.encodeCall(IProcurementParty.partyAmong, (_conflictSubjects[signer].values()));
        bool ok;
        uint256 size;
        uint256 answer;
        // Copies at most one word back, so a target cannot make this caller pay for a huge answer.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            ok := staticcall(_PARTY_QUERY_GAS, target, add(query, 0x20), mload(query), 0, 0x20)
            size := returndatasize()
            answer := mload(0)
        }
        if (!ok || size != 32) return;
        // Any non-zero answer recuses (fails closed on a target answering garbage).
        address party = address(uint160(answer));
        if (party != address(0)) revert ConsortiumSignerRecused(signer, party);
    }

    /// @dev Number of 65-byte entries in `signatures`. A whole number of entries is all entries
    /// (the ECDSA path pays nothing more); otherwise contract signatures appended their data,
    /// and the entries end at the lowest data offset an entry points to (a packer whose data
    /// would make the length a multiple of 65 appends one more byte).
    /// Reverts with ConsortiumSignatureLength unless that is a whole, non-zero number of entries.
    function _entryCount(bytes calldata signatures) private pure returns (uint256) {
        uint256 length = signatures.length;
        if (length % _SIGNATURE_LENGTH == 0 && length != 0) return length / _SIGNATURE_LENGTH;
        uint256 end = length;
        // Reads only whole entries below `end` (<= length), so never past the calldata.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            for {
                let entry := signatures.offset
                let last := add(signatures.offset, end)
            } iszero(gt(add(entry, 65), last)) {
                entry := add(entry, 65)
            } {
                // v == 0 (its byte is the last of the entry): a contract signature
                if iszero(byte(0, calldataload(add(entry, 64)))) {
                    let dataOffset := calldataload(add(entry, 32))
                    if lt(dataOffset, end) {
                        end := dataOffset
                        last := add(signatures.offset, end)
                    }
                }
            }
        }
        if (end == 0 || end % _SIGNATURE_LENGTH != 0) revert ConsortiumSignatureLength(length);
        return end / _SIGNATURE_LENGTH;
    }

    /// @dev Recovers the signer of the `index`-th entry, or the member whose on-chain approval
    /// or contract signature it stands for.
    function _recoverSigner(
        bytes32 actionHash,
        bytes calldata signatures,
        uint256 index
    ) private view returns (address) {
        uint256 offset = index * _SIGNATURE_LENGTH;
        bytes32 r = bytes32(signatures[offset:offset + 32]);
        bytes32 s = bytes32(signatures[offset + 32:offset + 64]);
        uint8 v = uint8(signatures[offset + 64]);
        if (v == _APPROVED_HASH_V) {
            address member = address(uint160(uint256(r)));
            if (!_approvals[member][actionHash]) revert ConsortiumNotApproved(member, actionHash);
            return member;
        }
        (address signer, ECDSA.RecoverError error, bytes32 errorArg) = ECDSA.tryRecover(actionHash, v, r, s);
        if (error != ECDSA.RecoverError.NoError) {
            // v = 0 is no ECDSA signature (off the ECDSA path, which stays as cheap as before)
            if (v == _CONTRACT_SIGNATURE_V) return _contractSigner(actionHash, signatures, index, r, s);
            if (error == ECDSA.RecoverError.InvalidSignatureS) revert ConsortiumMalleableSignature(index, errorArg);
            revert ConsortiumInvalidSignature(index);
        }
        return signer;
    }

    /// @dev The member contract of a contract-signature entry (r = member, s = data offset),
    /// once it is known to be a member and its EIP-1271 `isValidSignature` (a staticcall)
    /// accepts the data at the offset - a 32-byte length, then the bytes; it lies after every
    /// entry (see {_entryCount}).
    function _contractSigner(
        bytes32 actionHash,
        bytes calldata signatures,
        uint256 index,
        bytes32 r,
        bytes32 s
    ) private view returns (address member) {
        member = address(uint160(uint256(r)));
        // only a member's contract is ever called, never an arbitrary address
        _checkMember(member);
        uint256 dataOffset = uint256(s);
        uint256 length = signatures.length;
        // With data appended, the length is no multiple of 65 and every data offset an entry
        // holds is at or after the end of the entries, which is >= 65 (see _entryCount): so the
        // data overlaps no entry and `length - 32` cannot underflow.
        if (length % _SIGNATURE_LENGTH == 0 || dataOffset > length - 32) {
            revert ConsortiumContractSignatureOutOfBounds(index, dataOffset, length);
        }
        uint256 dataStart = dataOffset + 32;
        uint256 dataLength = uint256(bytes32(signatures[dataOffset:dataStart]));
        if (dataLength > length - dataStart) {
            revert ConsortiumContractSignatureOutOfBounds(index, dataOffset, length);
        }
        bytes calldata data = signatures[dataStart:dataStart + dataLength];
        if (!SignatureChecker.isValidERC1271SignatureNow(member, actionHash, data)) {
            revert ConsortiumInvalidContractSignature(index, member);
        }
    }

    function _addMember(address member, uint8 roles) private {
        if (member == address(0) || member == address(this)) revert ConsortiumInvalidMember(member);
        _checkRoles(roles);
        if (!_memberSet.add(member)) revert ConsortiumAlreadyMember(member);
        Member storage m = _members[member];
        m.active = true;
        m.roles = roles;
        _changeRoleHolders(0, roles);
        emit MemberAdded(member, roles);
    }

    function _setThreshold(uint256 threshold_) private {
        uint256 count = _memberSet.length();
        if (threshold_ == 0 || threshold_ > count) revert ConsortiumInvalidThreshold(threshold_, count);
        uint256 previous = _threshold;
        _threshold = uint16(threshold_);
        emit ThresholdChanged(previous, threshold_);
    }

    function _setPolicy(bytes4 selector, uint8 requiredRoles, uint8 subjectArg) private {
        if (requiredRoles & ~_ALL_ROLES != 0) revert ConsortiumInvalidRoles(requiredRoles);
        if (subjectArg > 16) revert ConsortiumInvalidSubjectArg(subjectArg);
        Policy storage p = _policies[selector];
        for (uint256 i = 0; i < _ROLE_COUNT; ++i) {
            uint8 role = uint8(1 << i);
            if (requiredRoles & role != 0 && _roleHolders[i] == 0) revert ConsortiumRoleUnfilled(role);
            if (p.requiredRoles & role != 0) --_roleRequirements[i];
            if (requiredRoles & role != 0) ++_roleRequirements[i];
        }
        p.requiredRoles = requiredRoles;
        p.subjectArg = subjectArg;
        emit PolicySet(selector, requiredRoles, subjectArg);
    }

    /// @dev Moves a member's role count from `previous` to `next` bits; refuses to leave a
    /// role that some policy requires without any holder.
    function _changeRoleHolders(uint8 previous, uint8 next) private {
        for (uint256 i = 0; i < _ROLE_COUNT; ++i) {
            uint8 role = uint8(1 << i);
            if (previous & role != 0 && next & role == 0) {
                uint16 holders = --_roleHolders[i];
                if (holders == 0 && _roleRequirements[i] != 0) revert ConsortiumRoleStillRequired(role);
            } else if (previous & role == 0 && next & role != 0) {
                ++_roleHolders[i];
            }
        }
    }

    function _roleIndex(uint8 role) private pure returns (uint256) {
        for (uint256 i = 0; i < _ROLE_COUNT; ++i) {
            if (role == uint8(1 << i)) return i;
        }
        revert ConsortiumInvalidRoles(role);
    }
}
