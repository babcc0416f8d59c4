// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAgreement, AgreementTerms, MilestonePlan} from "./interfaces/IAgreement.sol";
import {IProcurementParty} from "./interfaces/IProcurementParty.sol";

/// @title Agreement
/// @notice The escrow for one awarded contract: the buyer funds the full price, the supplier is
/// paid milestone by milestone as the consortium accepts its work, minus a retention share held
/// until the warranty period ends and minus a late penalty that goes back to the buyer.
///
/// Money never leaves by push: every payout is a credit that its owner withdraws, so a recipient
/// that cannot receive (a blocklisted address, a reverting hook) blocks only itself. At every
/// moment `token.balanceOf(this) == owed()`, where
/// `owed() = escrowed() + retentionHeld() + totalCredits()`; after everybody has withdrawn and
/// the agreement has ended, the balance is zero.
///
/// @dev Deployed once as an implementation; every agreement is an EIP-1167 clone initialised by
/// the Tender. Rounding: retention and penalties round down (in the supplier's favour); the last
/// milestone absorbs the rounding of the plan so amounts sum to exactly the price.
// solhint-disable-next-line max-states-count
contract Agreement is IAgreement, IProcurementParty, Initializable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Where the agreement as a whole stands.
    enum Status {
        Unfunded,
        Active,
        Completed,
        Terminated
    }

    /// @notice Where one milestone stands. Accepted and Resolved are final ("settled").
    enum MilestoneState {
        Pending,
        Submitted,
        Rejected,
        Disputed,
        Accepted,
        Resolved
    }

    /// @notice One milestone and what has happened to its money.
    struct Milestone {
        uint128 amount;
        uint64 dueDate;
        uint64 submittedAt;
        uint128 paid;
        uint128 penalty;
        uint128 retention;
        uint120 refunded;
        MilestoneState state;
        bytes32 descriptionHash;
        bytes32 evidenceHash;
    }

    /// @notice The longest plan an agreement accepts (initialisation loops over it once).
    uint256 public constant MAX_MILESTONES = 50;
    uint256 private constant _BPS = 10_000;
    uint256 private constant _DAY = 1 days;

    address private _consortium;
    Status private _status;
    uint8 private _milestoneCount;
    uint8 private _settledCount;
    uint64 private _createdAt;
    address private _buyer;
    uint64 private _warrantyEndsAt;
    address private _supplier;
    /// how long funding took after creation: every due date moves by this much
    uint64 private _dueShift;
    AgreementTerms private _terms;
    IERC20 private _token;
    uint128 private _price;
    uint128 private _escrowed;
    uint128 private _retentionHeld;
    uint128 private _totalCredits;
    mapping(uint256 index => Milestone) private _milestones;
    mapping(address account => uint256) private _credits;

    /// @notice The clone was initialised with these parties and price.
    event AgreementInitialized(
        address indexed consortium,
        address indexed buyer,
        address indexed supplier,
        address token,
        uint256 price,
        uint256 milestoneCount
    );
    /// @notice A milestone of the plan, scaled to the price. `dueDate` assumes funding at creation:
    /// every due date moves by the time the buyer took to fund (see {AgreementFunded}'s block).
    event MilestoneScheduled(uint256 indexed index, uint256 amount, uint256 dueDate, bytes32 descriptionHash);
    /// @notice The buyer deposited the price; `received` is what arrived, `surplus` was credited back.
    event AgreementFunded(address indexed buyer, uint256 pulled, uint256 received, uint256 surplus);
    /// @notice The supplier delivered evidence for a milestone.
    event MilestoneSubmitted(uint256 indexed index, bytes32 evidenceHash, string evidenceURI, uint256 daysLate);
    /// @notice The consortium accepted a milestone: `paid` to the supplier, `penalty` to the buyer,
    /// `retention` held until the warranty ends.
    event MilestoneAccepted(uint256 indexed index, uint256 paid, uint256 penalty, uint256 retention);
    /// @notice The consortium rejected a submission; the supplier may resubmit.
    event MilestoneRejected(uint256 indexed index, bytes32 reasonHash);
    /// @notice The buyer or the supplier disputed a milestone; nothing on it moves until resolved.
    event MilestoneDisputed(uint256 indexed index, address indexed by, bytes32 reasonHash);
    /// @notice The consortium resolved a dispute: of the supplier's share, `paid` to the supplier,
    /// `penalty` (for a late submission) to the buyer and `retention` held; `refunded` (the rest of
    /// the amount) to the buyer.
    event DisputeResolved(
        uint256 indexed index,
        uint256 supplierBps,
        uint256 paid,
        uint256 penalty,
        uint256 retention,
        uint256 refunded,
        bytes32 reasonHash
    );
    /// @notice Every milestone is settled; the warranty period runs until `warrantyEndsAt`.
    event WorkCompleted(uint256 warrantyEndsAt);
    /// @notice The consortium drew on the retention for a warranty claim (to the buyer).
    event WarrantyClaimed(uint256 amount, bytes32 reasonHash, uint256 retentionLeft);
    /// @notice The warranty ended and the retention was released to the supplier.
    event RetentionReleased(address indexed supplier, uint256 amount);
    /// @notice The agreement ended; nothing more will be escrowed.
    event AgreementCompleted();
    /// @notice The consortium terminated the agreement: retained pay for accepted work to the
    /// supplier, the unearned rest to the buyer.
    event AgreementTerminated(bytes32 reasonHash, uint256 toSupplier, uint256 toBuyer);
    /// @notice Tokens sent to the agreement outside `fund` were credited to the buyer.
    event SurplusRecovered(uint256 amount);
    /// @notice `account` may withdraw `amount` more; `balance` is its credit now.
    event Credited(address indexed account, uint256 amount, uint256 balance);
    /// @notice `account` withdrew its whole credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The caller is not the consortium.
    error AgreementNotConsortium(address caller);
    /// @notice The caller is not the buyer.
    error AgreementNotBuyer(address caller);
    /// @notice The caller is not the supplier.
    error AgreementNotSupplier(address caller);
    /// @notice The caller is neither the buyer nor the supplier.
    error AgreementNotParty(address caller);
    /// @notice A party or the token is the zero address.
    error AgreementZeroAddress();
    /// @notice The price is zero.
    error AgreementPriceZero();
    /// @notice The plan is empty or longer than the maximum.
    error AgreementPlanLength(uint256 length, uint256 max);
    /// @notice The plan's shares do not sum to 10,000 bps.
    error AgreementPlanShares(uint256 totalBps);
    /// @notice Retention or penalty cap above 10,000 bps.
    error AgreementTermsInvalid(uint256 retentionBps, uint256 latePenaltyCapBps);
    /// @notice The agreement is not in a status that allows this.
    error AgreementWrongStatus(Status status);
    /// @notice The deposit delivered less than the price (fee-on-transfer token: send more).
    error AgreementFundingShort(uint256 price, uint256 received);
    /// @notice No milestone with that index.
    error AgreementNoSuchMilestone(uint256 index, uint256 count);
    /// @notice The milestone is not in a state that allows this.
    error AgreementMilestoneWrongState(uint256 index, MilestoneState state);
    /// @notice Evidence must carry a non-zero hash.
    error AgreementEvidenceMissing(uint256 index);
    /// @notice A dispute split above 10,000 bps.
    error AgreementSplitInvalid(uint256 supplierBps);
    /// @notice A warranty claim of zero or of more than the retention held.
    error AgreementClaimInvalid(uint256 amount, uint256 retentionHeld);
    /// @notice The warranty period is over; the retention belongs to the supplier.
    error AgreementWarrantyOver(uint256 warrantyEndsAt, uint256 now_);
    /// @notice The retention is released only after every milestone is settled and the warranty ends.
    error AgreementWarrantyRunning(uint256 settled, uint256 count, uint256 warrantyEndsAt);
    /// @notice Nothing is credited to the caller.
    error AgreementNothingToWithdraw(address account);
    /// @notice The token balance holds nothing beyond what is owed.
    error AgreementNoSurplus(uint256 balance, uint256 owed);

    modifier onlyConsortium() {
        _checkConsortium();
        _;
    }

    modifier whenActive() {
        _checkStatus(Status.Active);
        _;
    }

    /// @dev The implementation itself can never be initialised; only its clones.
    constructor() {
        _disableInitializers();
    }

    // ---------------------------------------------------------------- set-up

    /// @inheritdoc IAgreement
    /// @dev Reverts with AgreementZeroAddress, AgreementPriceZero, AgreementPlanLength,
    /// AgreementPlanShares or AgreementTermsInvalid. Emits AgreementInitialized and one
    /// MilestoneScheduled per milestone.
    function initialize(
        address consortium,
        address buyer,
        address supplier,
        IERC20 token,
        uint256 price,
        AgreementTerms calldata terms,
        MilestonePlan[] calldata plan
    ) external initializer {
        if (
            consortium == address(0) || buyer == address(0) || supplier == address(0) || address(token) == address(0)
        ) revert AgreementZeroAddress();
        if (price == 0) revert AgreementPriceZero();
        uint256 count = plan.length;
        if (count == 0 || count > MAX_MILESTONES) revert AgreementPlanLength(count, MAX_MILESTONES);
        if (terms.retentionBps > _BPS || terms.latePenaltyCapBps > _BPS) {
            revert AgreementTermsInvalid(terms.retentionBps, terms.latePenaltyCapBps);
        }

        _consortium = consortium;
        _buyer = buyer;
        _supplier = supplier;
        _token = token;
        _price = price.toUint120(); // every amount then fits the milestone's fields
        _terms = terms;
        _milestoneCount = uint8(count);
        _createdAt = uint64(block.timestamp);
        emit AgreementInitialized(consortium, buyer, supplier, address(token), price, count);

        _schedule(price, plan);
    }

    // ---------------------------------------------------------------- funding

    /// @notice Deposits the price: pulls `amount` from the buyer (who approved it) and activates
    /// the agreement. Pass `amount == price()` for a plain token; for a fee-on-transfer token pass
    /// enough that at least the price arrives; whatever arrives beyond the price is credited back
    /// to the buyer.
    /// @dev Buyer only, once. Emits AgreementFunded (and Credited for a surplus). Reverts with
    /// AgreementNotBuyer, AgreementWrongStatus or AgreementFundingShort.
    /// @param amount tokens to pull from the buyer
    function fund(uint256 amount) external nonReentrant {
        _fund(amount);
    }

    /// @notice Like {fund}, with an EIP-2612 permit signed by the buyer for this agreement instead
    /// of a prior approval. A permit that fails (e.g. already used by a front-runner) is ignored;
    /// the transfer then relies on the allowance that exists.
    /// @dev Buyer only, once. Emits AgreementFunded. Reverts like {fund}.
    /// @param amount tokens to pull from the buyer (also the permit's value)
    /// @param deadline the permit's deadline
    /// @param v the permit signature's v
    /// @param r the permit signature's r
    /// @param s the permit signature's s
    function fundWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _fund(amount);
    }

    function _fund(uint256 amount) private {
        if (msg.sender != _buyer) revert AgreementNotBuyer(msg.sender);
        _checkStatus(Status.Unfunded);
        IERC20 token = _token;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        uint256 price = _price;
        if (received < price) revert AgreementFundingShort(price, received);

        _status = Status.Active;
        _escrowed = uint128(price);
        // The supplier cannot deliver before funding: due dates count from it, not from creation.
        _dueShift = uint64(block.timestamp) - _createdAt;
        uint256 surplus = received - price;
        emit AgreementFunded(msg.sender, amount, received, surplus);
        if (surplus > 0) _credit(msg.sender, surplus);
    }

    // ---------------------------------------------------------------- milestones

    /// @notice Delivers evidence for a milestone (a pending or rejected one). The lateness of the
    /// latest submission decides the penalty when it is accepted.
    /// @dev Supplier only, while Active. Emits MilestoneSubmitted. Reverts with
    /// AgreementNotSupplier, AgreementWrongStatus, AgreementNoSuchMilestone,
    /// AgreementMilestoneWrongState or AgreementEvidenceMissing.
    /// @param index the milestone
    /// @param evidenceHash hash of the evidence document
    /// @param evidenceURI where the evidence can be read (logged, not stored)
    function submit(uint256 index, bytes32 evidenceHash, string calldata evidenceURI) external whenActive {
        if (msg.sender != _supplier) revert AgreementNotSupplier(msg.sender);
        Milestone storage m = _milestone(index);
        MilestoneState state = m.state;
        if (state != MilestoneState.Pending && state != MilestoneState.Rejected) {
            revert AgreementMilestoneWrongState(index, state);
        }
        if (evidenceHash == bytes32(0)) revert AgreementEvidenceMissing(index);
        m.state = MilestoneState.Submitted;
        m.submittedAt = uint64(block.timestamp);
        m.evidenceHash = evidenceHash;
        emit MilestoneSubmitted(index, evidenceHash, evidenceURI, _daysLate(block.timestamp, m.dueDate + _dueShift));
    }

    /// @notice Accepts a submitted milestone: credits the supplier with the amount minus the
    /// retention share and minus the late penalty, credits the penalty to the buyer and holds the
    /// retention. The penalty is `latePenaltyBpsPerDay` per started day between the due date and
    /// the submission, capped at `latePenaltyCapBps` and at what remains after retention.
    /// @dev Consortium only, while Active. Emits MilestoneAccepted, Credited, and WorkCompleted /
    /// AgreementCompleted when this settles the last milestone. Reverts with
    /// AgreementNotConsortium, AgreementWrongStatus, AgreementNoSuchMilestone or
    /// AgreementMilestoneWrongState.
    /// @param index the milestone
    function acceptMilestone(uint256 index) external onlyConsortium whenActive nonReentrant {
        Milestone storage m = _milestone(index);
        if (m.state != MilestoneState.Submitted) revert AgreementMilestoneWrongState(index, m.state);
        (uint256 paid, uint256 penalty, uint256 retention) = quoteAcceptance(index);

        m.state = MilestoneState.Accepted;
        m.paid = uint128(paid);
        m.penalty = uint128(penalty);
        m.retention = uint128(retention);
        _escrowed -= m.amount;
        _retentionHeld += uint128(retention);
        emit MilestoneAccepted(index, paid, penalty, retention);
        if (paid > 0) _credit(_supplier, paid);
        if (penalty > 0) _credit(_buyer, penalty);
        _settle();
    }

    /// @notice Rejects a submitted milestone; the supplier may resubmit or either party dispute.
    /// @dev Consortium only, while Active. Emits MilestoneRejected. Reverts with
    /// AgreementNotConsortium, AgreementWrongStatus, AgreementNoSuchMilestone or
    /// AgreementMilestoneWrongState.
    /// @param index the milestone
    /// @param reasonHash hash of the written reasons
    function rejectMilestone(uint256 index, bytes32 reasonHash) external onlyConsortium whenActive {
        Milestone storage m = _milestone(index);
        if (m.state != MilestoneState.Submitted) revert AgreementMilestoneWrongState(index, m.state);
        m.state = MilestoneState.Rejected;
        emit MilestoneRejected(index, reasonHash);
    }

    /// @notice Disputes a submitted or rejected milestone; until the consortium resolves it,
    /// nothing on it moves (no submit, accept or reject).
    /// @dev Buyer or supplier, while Active. Emits MilestoneDisputed. Reverts with
    /// AgreementNotParty, AgreementWrongStatus, AgreementNoSuchMilestone or
    /// AgreementMilestoneWrongState.
    /// @param index the milestone
    /// @param reasonHash hash of the written grounds
    function dispute(uint256 index, bytes32 reasonHash) external whenActive {
        if (msg.sender != _buyer && msg.sender != _supplier) revert AgreementNotParty(msg.sender);
        Milestone storage m = _milestone(index);
        MilestoneState state = m.state;
        if (state != MilestoneState.Submitted && state != MilestoneState.Rejected) {
            revert AgreementMilestoneWrongState(index, state);
        }
        m.state = MilestoneState.Disputed;
        emit MilestoneDisputed(index, msg.sender, reasonHash);
    }

    /// @notice Resolves a dispute by splitting the milestone's amount: `supplierBps` of it is the
    /// supplier's share (rounded down), from which retention and the late penalty of the latest
    /// submission are taken exactly as on acceptance (a dispute settles the work, not the
    /// calendar: it cannot waive a penalty); the rest of the amount is refunded to the buyer.
    /// @dev Consortium only, while Active. Emits DisputeResolved, Credited, and WorkCompleted /
    /// AgreementCompleted when this settles the last milestone. Reverts with
    /// AgreementNotConsortium, AgreementWrongStatus, AgreementNoSuchMilestone,
    /// AgreementMilestoneWrongState or AgreementSplitInvalid.
    /// @param index the milestone
    /// @param supplierBps the supplier's share of the milestone amount, 0..10,000
    /// @param reasonHash hash of the written decision
    function resolveDispute(
        uint256 index,
        uint256 supplierBps,
        bytes32 reasonHash
    ) external onlyConsortium whenActive nonReentrant {
        Milestone storage m = _milestone(index);
        if (m.state != MilestoneState.Disputed) revert AgreementMilestoneWrongState(index, m.state);
        if (supplierBps > _BPS) revert AgreementSplitInvalid(supplierBps);
        uint256 amount = m.amount;
        uint256 share = (amount * supplierBps) / _BPS;
        (uint256 paid, uint256 penalty, uint256 retention) = _split(share, m);
        uint256 refunded = amount - share;

        m.state = MilestoneState.Resolved;
        m.paid = uint128(paid);
        m.penalty = uint128(penalty);
        m.retention = uint128(retention);
        m.refunded = uint120(refunded);
        _escrowed -= uint128(amount);
        _retentionHeld += uint128(retention);
        emit DisputeResolved(index, supplierBps, paid, penalty, retention, refunded, reasonHash);
        if (paid > 0) _credit(_supplier, paid);
        if (penalty + refunded > 0) _credit(_buyer, penalty + refunded);
        _settle();
    }

    // ---------------------------------------------------------------- retention

    /// @notice Draws `amount` from the retention for a warranty claim, credited to the buyer.
    /// Possible while retention is held and the warranty period has not ended (including before
    /// the last milestone is settled).
    /// @dev Consortium only, while Active. Emits WarrantyClaimed, Credited (and AgreementCompleted
    /// if the work is done and nothing is left held). Reverts with AgreementNotConsortium,
    /// AgreementWrongStatus, AgreementWarrantyOver or AgreementClaimInvalid.
    /// @param amount tokens drawn from the retention
    /// @param reasonHash hash of the written claim
    function claimWarranty(uint256 amount, bytes32 reasonHash) external onlyConsortium whenActive nonReentrant {
        uint256 endsAt = _warrantyEndsAt;
        if (_settledCount == _milestoneCount && block.timestamp >= endsAt) {
            revert AgreementWarrantyOver(endsAt, block.timestamp);
        }
        uint256 held = _retentionHeld;
        if (amount == 0 || amount > held) revert AgreementClaimInvalid(amount, held);
        _retentionHeld = uint128(held - amount);
        emit WarrantyClaimed(amount, reasonHash, held - amount);
        _credit(_buyer, amount);
        if (_settledCount == _milestoneCount && held == amount) _complete();
    }

    /// @notice Releases the whole retention to the supplier once every milestone is settled and
    /// the warranty period has ended, and completes the agreement. Anyone may call it.
    /// @dev While Active. Emits RetentionReleased, Credited, AgreementCompleted. Reverts with
    /// AgreementWrongStatus or AgreementWarrantyRunning.
    function releaseRetention() external whenActive nonReentrant {
        uint256 settled = _settledCount;
        uint256 endsAt = _warrantyEndsAt;
        if (settled != _milestoneCount || block.timestamp < endsAt) {
            revert AgreementWarrantyRunning(settled, _milestoneCount, endsAt);
        }
        uint256 held = _retentionHeld;
        _retentionHeld = 0;
        emit RetentionReleased(_supplier, held);
        _credit(_supplier, held);
        _complete();
    }

    // ---------------------------------------------------------------- termination

    /// @notice Ends the agreement early: the retention held for accepted work is credited to the
    /// supplier, everything still escrowed (milestones not settled, whatever their state) to the
    /// buyer. To keep retention for a defect, file {claimWarranty} first; to pay disputed work,
    /// resolve it first.
    /// @dev Consortium only, while Unfunded or Active. Emits AgreementTerminated and Credited.
    /// Reverts with AgreementNotConsortium or AgreementWrongStatus.
    /// @param reasonHash hash of the written decision
    function terminate(bytes32 reasonHash) external onlyConsortium nonReentrant {
        Status status = _status;
        if (status != Status.Unfunded && status != Status.Active) revert AgreementWrongStatus(status);
        uint256 toSupplier = _retentionHeld;
        uint256 toBuyer = _escrowed;
        _status = Status.Terminated;
        _retentionHeld = 0;
        _escrowed = 0;
        emit AgreementTerminated(reasonHash, toSupplier, toBuyer);
        if (toSupplier > 0) _credit(_supplier, toSupplier);
        if (toBuyer > 0) _credit(_buyer, toBuyer);
    }

    // ---------------------------------------------------------------- withdrawals

    /// @notice Sends the caller its whole credit. A recipient the token refuses only fails itself.
    /// @dev Anyone with a credit, in any status. Emits Withdrawn. Reverts with
    /// AgreementNothingToWithdraw (or the token's own error).
    function withdraw() external nonReentrant {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert AgreementNothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        _totalCredits -= uint128(amount);
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Credits the buyer with tokens sent to the agreement outside {fund} (so the balance
    /// always ends at zero). Anyone may call it.
    /// @dev Emits SurplusRecovered and Credited. Reverts with AgreementNoSurplus.
    function recoverSurplus() external nonReentrant {
        uint256 balance = _token.balanceOf(address(this));
        uint256 owing = owed();
        if (balance <= owing) revert AgreementNoSurplus(balance, owing);
        emit SurplusRecovered(balance - owing);
        _credit(_buyer, balance - owing);
    }

    // ---------------------------------------------------------------- views

    /// @notice What accepting milestone `index` would pay now, from its latest submission:
    /// `(paid to the supplier, penalty to the buyer, retention held)`; they sum to the amount.
    /// @param index the milestone
    /// @return paid credited to the supplier
    /// @return penalty credited to the buyer
    /// @return retention held until the warranty ends
    function quoteAcceptance(uint256 index) public view returns (uint256 paid, uint256 penalty, uint256 retention) {
        Milestone storage m = _milestone(index);
        return _split(m.amount, m);
    }

    /// @notice Everything the agreement still owes somebody; equals its token balance.
    /// @return the escrowed price not yet settled, plus retention held, plus unwithdrawn credits
    function owed() public view returns (uint256) {
        return uint256(_escrowed) + _retentionHeld + _totalCredits;
    }

    /// @notice The authority that accepts, rejects, resolves, claims and terminates.
    /// @return the consortium's address
    function consortium() external view returns (address) {
        return _consortium;
    }

    /// @notice The agency that funds the agreement and receives refunds and penalties.
    /// @return the buyer's address
    function buyer() external view returns (address) {
        return _buyer;
    }

    /// @notice The awarded bidder paid per accepted milestone.
    /// @return the supplier's address
    function supplier() external view returns (address) {
        return _supplier;
    }

    /// @notice The ERC-20 the price is paid in.
    /// @return the token
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The awarded price; milestone amounts sum to exactly this.
    /// @return the price in token units
    function price() external view returns (uint256) {
        return _price;
    }

    /// @notice Retention, warranty and late-penalty terms.
    /// @return the terms fixed at initialisation
    function terms() external view returns (AgreementTerms memory) {
        return _terms;
    }

    /// @notice Where the agreement stands.
    /// @return the status
    function status() external view returns (Status) {
        return _status;
    }

    /// @notice When the agreement was created (due dates count from here).
    /// @return a unix timestamp
    function createdAt() external view returns (uint256) {
        return _createdAt;
    }

    /// @notice Number of milestones in the plan.
    /// @return the count
    function milestoneCount() external view returns (uint256) {
        return _milestoneCount;
    }

    /// @notice Number of milestones accepted or resolved.
    /// @return the count
    function settledCount() external view returns (uint256) {
        return _settledCount;
    }

    /// @notice One milestone with its money so far. Its `dueDate` counts from funding (before
    /// funding: as if funded at creation).
    /// @param index the milestone
    /// @return m the milestone
    function milestone(uint256 index) external view returns (Milestone memory m) {
        m = _milestone(index);
        m.dueDate += _dueShift;
    }

    /// @notice The Tender that created this agreement (zero for an agreement cloned elsewhere).
    /// @return the tender's address, carried in the clone's code
    function tender() public view returns (address) {
        bytes memory args = Clones.fetchCloneArgs(address(this));
        return args.length == 20 ? address(bytes20(args)) : address(0);
    }

    /// @notice The first of `candidates` that is a party to this agreement: itself, its buyer, its
    /// supplier or its tender. The consortium asks it so that a member's declared conflict with
    /// any of them recuses the member here too. Losing bidders are not parties of the contract:
    /// counting them would let anyone who bids (and takes its bond back) recuse members from
    /// paying the winner.
    /// @param candidates the addresses a member declared conflicts with
    /// @return party the first party among them (zero if none)
    function partyAmong(address[] calldata candidates) external view returns (address party) {
        address tender_ = tender();
        for (uint256 i = 0; i < candidates.length; ++i) {
            address c = candidates[i];
            if (c == address(this) || c == _buyer || c == _supplier || (c == tender_ && c != address(0))) {
                return c;
            }
        }
    }

    /// @notice When the warranty ends (zero until every milestone is settled).
    /// @return a unix timestamp
    function warrantyEndsAt() external view returns (uint256) {
        return _warrantyEndsAt;
    }

    /// @notice Price not yet settled on any milestone.
    /// @return tokens held in escrow for unsettled milestones
    function escrowed() external view returns (uint256) {
        return _escrowed;
    }

    /// @notice Retention held until the warranty ends.
    /// @return tokens held as retention
    function retentionHeld() external view returns (uint256) {
        return _retentionHeld;
    }

    /// @notice Credits not yet withdrawn, all accounts together.
    /// @return tokens credited and not withdrawn
    function totalCredits() external view returns (uint256) {
        return _totalCredits;
    }

    /// @notice What `account` can withdraw now.
    /// @param account anybody
    /// @return its credit
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    // ---------------------------------------------------------------- internals

    /// @dev Scales the plan to `price`; the last milestone takes the rounding.
    function _schedule(uint256 price, MilestonePlan[] calldata plan) private {
        uint256 count = plan.length;
        uint256 totalBps = 0;
        uint256 allocated = 0;
        for (uint256 i; i < count; ++i) {
            MilestonePlan calldata step = plan[i];
            totalBps += step.shareBps;
            uint256 amount;
            if (i + 1 < count) {
                amount = (price * step.shareBps) / _BPS;
            } else {
                // Shares summing to 10,000 keep `allocated <= price`; the last takes the rounding.
                if (totalBps != _BPS) revert AgreementPlanShares(totalBps);
                amount = price - allocated;
            }
            allocated += amount;
            uint64 due = uint64(block.timestamp) + step.dueOffset;
            Milestone storage m = _milestones[i];
            m.amount = uint128(amount);
            m.dueDate = due;
            m.descriptionHash = step.descriptionHash;
            emit MilestoneScheduled(i, amount, due, step.descriptionHash);
        }
    }

    function _checkConsortium() private view {
        if (msg.sender != _consortium) revert AgreementNotConsortium(msg.sender);
    }

    function _checkStatus(Status expected) private view {
        if (_status != expected) revert AgreementWrongStatus(_status);
    }

    function _milestone(uint256 index) private view returns (Milestone storage) {
        if (index >= _milestoneCount) revert AgreementNoSuchMilestone(index, _milestoneCount);
        return _milestones[index];
    }

    function _credit(address account, uint256 amount) private {
        uint256 balance = _credits[account] + amount;
        _credits[account] = balance;
        _totalCredits += amount.toUint128();
        emit Credited(account, amount, balance);
    }

    /// @dev Counts a settled milestone; the last one starts the warranty period.
    function _settle() private {
        uint8 settled = _settledCount + 1;
        _settledCount = settled;
        if (settled < _milestoneCount) return;
        uint256 endsAt = block.timestamp + _terms.warrantyPeriod;
        _warrantyEndsAt = uint64(endsAt);
        emit WorkCompleted(endsAt);
        if (_retentionHeld == 0) _complete();
    }

    function _complete() private {
        _status = Status.Completed;
        emit AgreementCompleted();
    }

    /// @dev Splits `base` of milestone `m` into (paid, penalty, retention): retention first, then the
    /// late penalty of the latest submission (due dates counted from funding), capped at the rest.
    function _split(
        uint256 base,
        Milestone storage m
    ) private view returns (uint256 paid, uint256 penalty, uint256 retention) {
        AgreementTerms memory t = _terms;
        retention = (base * t.retentionBps) / _BPS;
        uint256 penaltyBps = _daysLate(m.submittedAt, m.dueDate + _dueShift) * t.latePenaltyBpsPerDay;
        if (penaltyBps > t.latePenaltyCapBps) penaltyBps = t.latePenaltyCapBps;
        penalty = (base * penaltyBps) / _BPS;
        if (penalty > base - retention) penalty = base - retention;
        paid = base - retention - penalty;
    }

    /// @dev Started days between `dueDate` and `at`; zero when on time.
    function _daysLate(uint256 at, uint256 dueDate) private pure returns (uint256) {
        if (at <= dueDate) return 0;
        return (at - dueDate + _DAY - 1) / _DAY;
    }
}
