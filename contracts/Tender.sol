// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AgreementTerms, IAgreement, MilestonePlan} from "./interfaces/IAgreement.sol";
import {IConsortiumMembers} from "./interfaces/IConsortiumMembers.sol";
import {IProcurementParty} from "./interfaces/IProcurementParty.sol";

/// @notice How the winner is chosen: the lowest valid price, or a consortium evaluation.
enum AwardMethod {
    LowestPrice,
    Evaluation
}

/// @notice Where a tender is. Time-derived stages are computed by {Tender-stage}; nobody pokes.
enum Stage {
    Bidding, // commitments accepted until the bidding deadline
    Reveal, // commitments opened until the reveal deadline
    Evaluation, // the consortium may disqualify and award
    Ranking, // the leader was excluded: remaining bidders claim their rank until the ranking deadline
    Awarded, // the awardee may accept until the acceptance deadline
    AwardLapsed, // the awardee did not accept in time; `recordLapse` reopens the competition
    Contracted, // the awardee accepted; the Agreement exists
    Cancelled, // the consortium cancelled the tender
    Failed // no valid bid is left, or the consortium did not award within the evaluation period
}

/// @notice What an agency publishes; the Registry turns it into a Tender clone.
struct TenderParams {
    IERC20 token;
    uint256 budget;
    uint256 bond;
    uint40 biddingDeadline;
    uint40 revealDeadline;
    uint32 acceptanceWindow;
    AwardMethod method;
    AgreementTerms terms;
}

/// @title Tender
/// @notice One sealed-bid competition, deployed by the {Registry} as an EIP-1167 clone whose
/// parameters live in the clone's code (immutable args), not in storage.
/// @dev Per bidder exactly one storage slot; the competition state is two more slots. No
/// function loops over bids: the lowest valid bid ("leader") is tracked at reveal, and when
/// the leader is excluded (disqualified or lapsed) a ranking round lets the remaining bidders
/// claim their rank one by one, each claim O(1), so the next lowest is known without a loop.
contract Tender is IProcurementParty, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ----------------------------------------------------------------------------------------
    // Storage layout
    // ----------------------------------------------------------------------------------------

    /// @dev One slot per bidder. While sealed, `data` holds the top 208 bits of the commitment;
    /// once revealed it holds the price (capped at 2^208-1 for absurd invalid bids).
    struct Bid {
        uint208 data;
        uint40 commitBlock;
        uint8 flags;
    }

    /// @dev Written by the registry at creation, so no bidder pays for a fresh slot here.
    struct Competition {
        uint88 leaderPrice;
        address leader;
        Status status;
    }

    struct Award {
        address awardee;
        uint40 acceptDeadline;
        uint40 rankingDeadline;
    }

    struct Closing {
        address agreement;
        uint40 cancelledAt;
    }

    enum Status {
        None,
        Open,
        Awarded,
        Contracted,
        Cancelled
    }

    uint8 private constant _COMMITTED = 1;
    uint8 private constant _REVEALED = 2;
    uint8 private constant _VALID = 4;
    uint8 private constant _DISQUALIFIED = 8;
    uint8 private constant _LAPSED = 16;
    uint8 private constant _BOND_SETTLED = 32;
    uint8 private constant _ELIGIBLE = _COMMITTED | _REVEALED | _VALID;

    // Offsets of the parameters in the clone's immutable args (abi.encodePacked by the Registry).
    uint256 private constant _CODE_ARGS = 45;
    uint256 private constant _O_BUYER = 0; // address
    uint256 private constant _O_TOKEN = 20; // address
    uint256 private constant _O_BUDGET = 40; // uint88
    uint256 private constant _O_BOND = 51; // uint88
    uint256 private constant _O_BIDDING = 62; // uint40
    uint256 private constant _O_REVEAL = 67; // uint40
    uint256 private constant _O_WINDOW = 72; // uint32
    uint256 private constant _O_METHOD = 76; // uint8
    uint256 private constant _O_RETENTION = 77; // uint16
    uint256 private constant _O_WARRANTY = 79; // uint32
    uint256 private constant _O_PENALTY = 83; // uint16
    uint256 private constant _O_PENALTY_CAP = 85; // uint16
    uint256 private constant _O_PREVIOUS = 87; // uint64
    uint256 private constant _O_PLAN = 95; // bytes32
    /// @notice Length of the packed immutable args a Tender clone carries.
    uint256 public constant ARGS_LENGTH = 127;
    /// @notice How long the consortium has to award after the reveal (or a ranking round, or a
    /// lapsed or withdrawn award) before the tender fails and the bonds come back.
    uint256 public constant EVALUATION_PERIOD = 60 days;

    address private immutable _CONSORTIUM;
    address private immutable _REGISTRY;
    address private immutable _AGREEMENT_IMPLEMENTATION;

    mapping(address bidder => Bid) private _bids;
    Competition private _competition;
    Award private _award;
    Closing private _closing;

    // ----------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------

    /// @notice A bidder committed (or replaced) a sealed bid. `replaced` is false for the first one.
    event BidCommitted(address indexed bidder, bytes32 commitment, bool replaced);
    /// @notice A bid was opened. `valid` is false above the budget or at zero; `leading` when it
    /// became the lowest valid bid.
    event BidRevealed(
        address indexed bidder,
        uint256 price,
        bytes32 documentHash,
        bool valid,
        bool leading
    );
    /// @notice The consortium disqualified a bidder, with the hash of its reasons.
    event BidderDisqualified(address indexed bidder, bytes32 reasonHash);
    /// @notice The leader was excluded; remaining bidders may claim their rank until `deadline`.
    event RankingOpened(uint256 deadline);
    /// @notice A bidder claimed its rank in a ranking round.
    event RankClaimed(address indexed bidder, uint256 price, bool leading);
    /// @notice The consortium awarded the tender; the bidder may accept until `acceptDeadline`.
    event BidAwarded(
        address indexed bidder,
        uint256 price,
        bytes32 reportHash,
        uint256 acceptDeadline
    );
    /// @notice The awardee let the acceptance window pass; its bond is forfeited.
    event AwardLapsed(address indexed bidder);
    /// @notice The awardee accepted; `agreement` is the escrow created for `price`.
    event AwardAccepted(address indexed supplier, address indexed agreement, uint256 price);
    /// @notice The consortium cancelled the tender, with the hash of its reasons.
    event TenderCancelled(bytes32 reasonHash);
    /// @notice A bidder took its bond back.
    event BondWithdrawn(address indexed bidder, uint256 amount);
    /// @notice The supplier's bond was returned on acceptance.
    event BondReturned(address indexed supplier, uint256 amount);
    /// @notice A bond was forfeited and paid to the buyer.
    event BondForfeited(address indexed bidder, address indexed buyer, uint256 amount);

    // ----------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------

    error TenderNotConsortium(address caller);
    error TenderNotRegistry(address caller);
    error TenderAlreadyInitialized();
    error TenderNotInitialized();
    error TenderBidTooLate(uint256 deadline, uint256 now_);
    error TenderRevealTooEarly(uint256 biddingDeadline, uint256 now_);
    error TenderRevealTooLate(uint256 revealDeadline, uint256 now_);
    error TenderWrongStage(Stage expected, Stage actual);
    error TenderNotCancellable(Stage stage);
    error TenderNoCommitment(address bidder);
    error TenderAlreadyRevealed(address bidder);
    error TenderCommitmentMismatch(address bidder);
    error TenderBidderNotEligible(address bidder);
    error TenderBidderIsMember(address bidder);
    error TenderNotLowestBid(address bidder, address lowest);
    error TenderNotAwardee(address caller, address awardee);
    error TenderAcceptanceExpired(uint256 deadline, uint256 now_);
    error TenderPlanMismatch(bytes32 expected, bytes32 actual);
    error TenderBondLocked(address bidder, Stage stage);
    error TenderBondForfeited(address bidder);
    error TenderBondNotForfeitable(address bidder);
    error TenderBondAlreadySettled(address bidder);
    error TenderBondShort(uint256 bond, uint256 received);

    /// @param consortium_ the authority of every tender cloned from this implementation
    /// @param agreementImplementation_ the Agreement escrow cloned on acceptance
    /// @dev Deployed by the Registry, which becomes the only caller of {initialize}.
    constructor(address consortium_, address agreementImplementation_) {
        _CONSORTIUM = consortium_;
        _REGISTRY = msg.sender;
        _AGREEMENT_IMPLEMENTATION = agreementImplementation_;
    }

    // ----------------------------------------------------------------------------------------
    // Set-up
    // ----------------------------------------------------------------------------------------

    /// @notice Opens a freshly cloned tender. Called once by the Registry in `createTender`.
    /// @dev Writes the competition slot, so the first bidder pays no more than the hundredth.
    /// Reverts with {TenderNotRegistry} for any other caller, {TenderAlreadyInitialized} twice.
    function initialize() external {
        if (msg.sender != _REGISTRY) revert TenderNotRegistry(msg.sender);
        if (_competition.status != Status.None) revert TenderAlreadyInitialized();
        _competition.status = Status.Open;
    }

    // ----------------------------------------------------------------------------------------
    // Bidders
    // ----------------------------------------------------------------------------------------

    /// @notice Commits a sealed bid, or replaces the caller's earlier one, during Bidding.
    /// The first commitment pulls the bid bond (the caller must have approved it).
    /// @param commitment keccak256(abi.encode(chainid, tender, bidder, price, salt, docHash))
    /// @dev Anyone may bid. Emits {BidCommitted}. Reverts with {TenderBidTooLate} after the
    /// bidding deadline, {TenderWrongStage} once cancelled, and {TenderBondShort} when less
    /// than the bond arrives (a fee-on-transfer token).
    function commitBid(bytes32 commitment) external {
        if (!_commitBid(commitment)) _pullBond();
    }

    /// @notice {commitBid} with an EIP-2612 permit for the bond, so one transaction suffices.
    /// @dev The permit is tried after the bid is recorded and its failure ignored (a
    /// front-runner may have used it already); the bond transfer then needs the allowance
    /// either way.
    function commitBidWithPermit(
        bytes32 commitment,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        bool replaced = _commitBid(commitment);
        try
            IERC20Permit(address(token())).permit(
                msg.sender,
                address(this),
                bond(),
                permitDeadline,
                v,
                r,
                s
            )
        {} catch {} // solhint-disable-line no-empty-blocks
        if (!replaced) _pullBond();
    }

    /// @notice Opens the caller's sealed bid during Reveal. A price of zero or above the
    /// budget is recorded as invalid; the lowest valid bid leads (ties: earlier commit block).
    /// @dev Emits {BidRevealed}. Reverts with {TenderRevealTooEarly}, {TenderRevealTooLate},
    /// {TenderWrongStage}, {TenderNoCommitment}, {TenderAlreadyRevealed},
    /// {TenderCommitmentMismatch}.
    function revealBid(uint256 price, bytes32 salt, bytes32 docHash) external {
        Competition memory c = _competition;
        if (c.status != Status.Open) revert TenderWrongStage(Stage.Reveal, stage());
        if (block.timestamp <= biddingDeadline()) {
            revert TenderRevealTooEarly(biddingDeadline(), block.timestamp);
        }
        if (block.timestamp > revealDeadline()) {
            revert TenderRevealTooLate(revealDeadline(), block.timestamp);
        }
        Bid memory bid = _bids[msg.sender];
        if (bid.flags == 0) revert TenderNoCommitment(msg.sender);
        if (bid.flags & _REVEALED != 0) revert TenderAlreadyRevealed(msg.sender);
        bytes32 commitment = keccak256(
            abi.encode(block.chainid, address(this), msg.sender, price, salt, docHash)
        );
        if (uint208(uint256(commitment) >> 48) != bid.data) {
            revert TenderCommitmentMismatch(msg.sender);
        }

        bool valid = price != 0 && price <= budget();
        bid.data = price > type(uint208).max ? type(uint208).max : uint208(price);
        bid.flags |= valid ? _REVEALED | _VALID : _REVEALED;
        _bids[msg.sender] = bid;
        bool leading = valid && _leads(c, price, bid.commitBlock);
        if (leading) {
            _competition = Competition(uint88(price), msg.sender, Status.Open);
        }
        emit BidRevealed(msg.sender, price, docHash, valid, leading);
    }

    /// @notice Puts a remaining bidder back in the competition during a ranking round; the
    /// lowest claimant becomes the leader. Anyone may claim for any eligible bidder.
    /// @dev O(1). Emits {RankClaimed}. Reverts with {TenderWrongStage} outside Ranking and
    /// {TenderBidderNotEligible} for unrevealed, invalid or excluded bids.
    function claimRank(address bidder) external {
        Stage current = stage();
        if (current != Stage.Ranking) revert TenderWrongStage(Stage.Ranking, current);
        Bid memory bid = _eligibleBid(bidder);
        Competition memory c = _competition;
        if (c.leader == bidder) return;
        bool leading = _leads(c, bid.data, bid.commitBlock);
        if (leading) _competition = Competition(uint88(bid.data), bidder, c.status);
        emit RankClaimed(bidder, bid.data, leading);
    }

    /// @notice The awardee accepts the award within the acceptance window: the Agreement
    /// escrow is created for the awarded price and the awardee's bond is returned.
    /// @param plan the milestone plan published with the tender (checked against its hash)
    /// @return agreement_ the new Agreement clone
    /// @dev Awardee only. Emits {AwardAccepted} and {BondReturned}. Reverts with
    /// {TenderAcceptanceExpired}, {TenderWrongStage}, {TenderNotAwardee}, {TenderPlanMismatch}.
    function acceptAward(
        MilestonePlan[] calldata plan
    ) external nonReentrant returns (address agreement_) {
        Stage current = stage();
        Award memory a = _award;
        if (current == Stage.AwardLapsed) {
            revert TenderAcceptanceExpired(a.acceptDeadline, block.timestamp);
        }
        if (current != Stage.Awarded) revert TenderWrongStage(Stage.Awarded, current);
        if (msg.sender != a.awardee) revert TenderNotAwardee(msg.sender, a.awardee);
        bytes32 planHash_ = keccak256(abi.encode(plan));
        if (planHash_ != planHash()) revert TenderPlanMismatch(planHash(), planHash_);

        Bid storage bid = _bids[msg.sender];
        uint256 price = bid.data;
        bid.flags |= _BOND_SETTLED;
        _competition.status = Status.Contracted;
        // The agreement carries this tender's address in its code (recusal follows the bidders).
        agreement_ = Clones.cloneWithImmutableArgs(_AGREEMENT_IMPLEMENTATION, abi.encodePacked(address(this)));
        _closing.agreement = agreement_;
        emit AwardAccepted(msg.sender, agreement_, price);

        IAgreement(agreement_).initialize(
            _CONSORTIUM,
            buyer(),
            msg.sender,
            token(),
            price,
            terms(),
            plan
        );
        uint256 amount = bond();
        emit BondReturned(msg.sender, amount);
        token().safeTransfer(msg.sender, amount);
    }

    /// @notice Returns the caller's bond: to revealed bidders once the tender is awarded (not to
    /// the awardee), contracted, cancelled or failed; to unrevealed bidders only if the tender
    /// was cancelled before the reveal deadline. A bidder that takes its bond back while another
    /// holds the award leaves the competition: it can no longer claim a rank or be awarded
    /// (the bond is what answers for an acceptance).
    /// @dev Emits {BondWithdrawn}. Reverts with {TenderNoCommitment}, {TenderBondAlreadySettled},
    /// {TenderBondForfeited}, {TenderBondLocked}.
    function withdrawBond() external nonReentrant {
        Bid storage bid = _bids[msg.sender];
        uint8 flags = bid.flags;
        if (flags == 0) revert TenderNoCommitment(msg.sender);
        if (flags & _BOND_SETTLED != 0) revert TenderBondAlreadySettled(msg.sender);
        if (_forfeitable(flags)) revert TenderBondForfeited(msg.sender);
        Stage current = stage();
        bool refundable;
        if (flags & _REVEALED == 0) {
            refundable = current == Stage.Cancelled;
        } else {
            refundable =
                current == Stage.Contracted ||
                current == Stage.Cancelled ||
                current == Stage.Failed ||
                ((current == Stage.Awarded || current == Stage.AwardLapsed) &&
                    msg.sender != _award.awardee);
        }
        if (!refundable) revert TenderBondLocked(msg.sender, current);

        bid.flags = flags | _BOND_SETTLED;
        // Whoever takes its bond back leaves the competition: a leader that leaves while another
        // bidder holds the award is cleared, so a ranking round opens if that award lapses.
        if (
            (current == Stage.Awarded || current == Stage.AwardLapsed) &&
            _competition.leader == msg.sender
        ) {
            _competition = Competition(0, address(0), _competition.status);
        }
        uint256 amount = bond();
        emit BondWithdrawn(msg.sender, amount);
        token().safeTransfer(msg.sender, amount);
    }

    /// @notice Pays a forfeited bond to the buyer: a bid never revealed (unless the tender was
    /// cancelled before the reveal deadline), or an awardee that let the award lapse.
    /// @dev Anyone may call; the money always goes to the buyer. Emits {BondForfeited}.
    /// Reverts with {TenderNoCommitment}, {TenderBondAlreadySettled}, {TenderBondNotForfeitable}.
    function claimForfeitedBond(address bidder) external nonReentrant {
        Bid storage bid = _bids[bidder];
        uint8 flags = bid.flags;
        if (flags == 0) revert TenderNoCommitment(bidder);
        if (flags & _BOND_SETTLED != 0) revert TenderBondAlreadySettled(bidder);
        if (!_forfeitable(flags)) revert TenderBondNotForfeitable(bidder);

        bid.flags = flags | _BOND_SETTLED;
        uint256 amount = bond();
        address buyer_ = buyer();
        emit BondForfeited(bidder, buyer_, amount);
        token().safeTransfer(buyer_, amount);
    }

    /// @notice Records that the awardee let the acceptance window pass: its bond is forfeited,
    /// and if it led (or the leader was disqualified meanwhile), a ranking round opens for the
    /// next lowest bid.
    /// @dev Anyone may call. Emits {AwardLapsed} (and {RankingOpened}). Reverts with
    /// {TenderWrongStage} unless the stage is AwardLapsed.
    function recordLapse() external {
        Stage current = stage();
        if (current != Stage.AwardLapsed) revert TenderWrongStage(Stage.AwardLapsed, current);
        _recordLapse();
    }

    // ----------------------------------------------------------------------------------------
    // Consortium
    // ----------------------------------------------------------------------------------------

    /// @notice Excludes a revealed valid bidder, with the hash of the reasons. Disqualifying
    /// the awardee withdraws the award; disqualifying the leader removes it from the lead. A
    /// ranking round opens when that leaves no award and no leader. While another bidder holds
    /// the award (Evaluation method) none can run, so it opens if that award lapses or is
    /// withdrawn. After the acceptance window has passed the lapse is recorded first (the
    /// awardee's bond is forfeited); disqualifying that awardee then only records the reasons.
    /// @dev Consortium only. The bidder comes first (the consortium's recusal reads it).
    /// Emits {BidderDisqualified} (and {RankingOpened}). Reverts with {TenderNotConsortium},
    /// {TenderWrongStage} before Evaluation or once contracted/cancelled/failed,
    /// {TenderBidderNotEligible}.
    function disqualify(address bidder, bytes32 reasonHash) external {
        _checkConsortium();
        Stage current = stage();
        if (current == Stage.AwardLapsed) {
            // The lapse comes first, so a defaulting awardee never gets its bond back.
            if (_recordLapse() == bidder) {
                _bids[bidder].flags |= _DISQUALIFIED;
                emit BidderDisqualified(bidder, reasonHash);
                return;
            }
            current = stage();
        }
        if (current != Stage.Evaluation && current != Stage.Ranking && current != Stage.Awarded) {
            revert TenderWrongStage(Stage.Evaluation, current);
        }
        _eligibleBid(bidder);
        _bids[bidder].flags |= _DISQUALIFIED;
        emit BidderDisqualified(bidder, reasonHash);
        Competition memory c = _competition;
        bool wasAwardee = _award.awardee == bidder;
        if (wasAwardee) {
            _award.awardee = address(0);
            c.status = Status.Open;
        }
        bool wasLeader = c.leader == bidder;
        if (wasLeader) (c.leader, c.leaderPrice) = (address(0), 0);
        if (!wasAwardee && !wasLeader) return;
        _competition = c;
        if (c.status == Status.Open && c.leader == address(0)) _openRanking();
    }

    /// @notice Awards the tender. With LowestPrice the bidder must be the leader (the lowest
    /// valid bid not excluded); with Evaluation any eligible bidder, per the evaluation report.
    /// A member of the consortium cannot be awarded (it would decide on its own milestones):
    /// disqualify its bid instead.
    /// @dev Consortium only; bidder first (recusal). Emits {BidAwarded}. Reverts with
    /// {TenderNotConsortium}, {TenderWrongStage} outside Evaluation,
    /// {TenderBidderNotEligible}, {TenderBidderIsMember}, {TenderNotLowestBid}.
    function award(address bidder, bytes32 reportHash) external {
        _checkConsortium();
        Stage current = stage();
        if (current != Stage.Evaluation) revert TenderWrongStage(Stage.Evaluation, current);
        Bid memory bid = _eligibleBid(bidder);
        if (_isMember(bidder)) revert TenderBidderIsMember(bidder);
        address leader_ = _competition.leader;
        if (awardMethod() == AwardMethod.LowestPrice && bidder != leader_) {
            revert TenderNotLowestBid(bidder, leader_);
        }
        uint40 deadline = uint40(block.timestamp) + acceptanceWindow();
        _competition.status = Status.Awarded;
        _award = Award(bidder, deadline, _award.rankingDeadline);
        emit BidAwarded(bidder, bid.data, reportHash, deadline);
    }

    /// @notice Cancels the tender at any stage before the contract; revealed bonds (and bonds
    /// of bids that could still have been revealed) become withdrawable, except the bond of an
    /// awardee whose acceptance window has passed (the lapse is recorded first).
    /// @dev Consortium only. Emits {TenderCancelled}. Reverts with {TenderNotConsortium},
    /// {TenderNotCancellable} once contracted, cancelled or failed.
    function cancel(bytes32 reasonHash) external {
        _checkConsortium();
        Stage current = stage();
        if (current == Stage.Contracted || current == Stage.Cancelled || current == Stage.Failed) {
            revert TenderNotCancellable(current);
        }
        // A defaulting awardee's bond stays forfeited: the lapse is recorded before cancelling.
        if (current == Stage.AwardLapsed) _recordLapse();
        _competition.status = Status.Cancelled;
        _closing.cancelledAt = uint40(block.timestamp);
        emit TenderCancelled(reasonHash);
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    /// @notice The current stage, derived from the stored status and the clock.
    function stage() public view returns (Stage) {
        Competition memory c = _competition;
        if (c.status == Status.None) revert TenderNotInitialized();
        if (c.status == Status.Cancelled) return Stage.Cancelled;
        if (c.status == Status.Contracted) return Stage.Contracted;
        Award memory a = _award;
        if (c.status == Status.Awarded) {
            return block.timestamp <= a.acceptDeadline ? Stage.Awarded : Stage.AwardLapsed;
        }
        if (block.timestamp <= biddingDeadline()) return Stage.Bidding;
        if (block.timestamp <= revealDeadline()) return Stage.Reveal;
        if (block.timestamp <= a.rankingDeadline) return Stage.Ranking;
        if (c.leader == address(0) || block.timestamp > _evaluationDeadline(a)) return Stage.Failed;
        return Stage.Evaluation;
    }

    /// @notice The last second at which the consortium may award (or disqualify) in the current
    /// evaluation: {EVALUATION_PERIOD} after the latest of the reveal deadline, the ranking
    /// deadline and the last acceptance deadline. Past it without an award the tender fails and
    /// every bond still held becomes withdrawable, so no decision that never comes (a quorum
    /// lost to recusals, say) can lock the bidders' money.
    function evaluationDeadline() external view returns (uint256) {
        return _evaluationDeadline(_award);
    }

    /// @notice A bidder's bid: flags, commit block, and the price once revealed (else 0).
    function bidOf(
        address bidder
    )
        external
        view
        returns (
            bool committed,
            bool revealed,
            bool valid,
            bool excluded,
            bool bondSettled,
            uint256 commitBlock,
            uint256 price
        )
    {
        Bid memory bid = _bids[bidder];
        committed = bid.flags & _COMMITTED != 0;
        revealed = bid.flags & _REVEALED != 0;
        valid = bid.flags & _VALID != 0;
        excluded = bid.flags & (_DISQUALIFIED | _LAPSED) != 0;
        bondSettled = bid.flags & _BOND_SETTLED != 0;
        commitBlock = bid.commitBlock;
        price = revealed ? bid.data : 0;
    }

    /// @notice The commitment `bidder` must submit for a bid of `price` with `salt` and
    /// `docHash` in this tender on this chain (what {revealBid} recomputes).
    function commitmentOf(
        address bidder,
        uint256 price,
        bytes32 salt,
        bytes32 docHash
    ) external view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), bidder, price, salt, docHash));
    }

    /// @notice Whether a bidder was disqualified (true) — lapsed awardees are reported by
    /// {hasLapsed}.
    function isDisqualified(address bidder) external view returns (bool) {
        return _bids[bidder].flags & _DISQUALIFIED != 0;
    }

    /// @notice Whether a bidder let an award lapse (its bond is forfeited).
    function hasLapsed(address bidder) external view returns (bool) {
        return _bids[bidder].flags & _LAPSED != 0;
    }

    /// @notice The first of `candidates` that is a party to this competition: this tender, its
    /// buyer, the agreement it led to, or a bidder in it - any committed bid until the reveal
    /// deadline, then only bids revealed valid (an unrevealed or invalid bid competes no more).
    /// The consortium asks it so that a member's declared conflict with any of them recuses the
    /// member from every decision on this tender, the disqualification of a rival included.
    /// @param candidates the addresses a member declared conflicts with
    /// @return party the first party among them (zero if none)
    function partyAmong(address[] calldata candidates) external view returns (address party) {
        address buyer_ = buyer();
        address agreement_ = _closing.agreement;
        bool sealed_ = block.timestamp <= revealDeadline();
        for (uint256 i = 0; i < candidates.length; ++i) {
            address c = candidates[i];
            if (c == address(0)) continue;
            if (c == address(this) || c == buyer_ || c == agreement_) return c;
            uint8 flags = _bids[c].flags;
            if (flags & _VALID != 0 || (sealed_ && flags != 0)) return c;
        }
    }

    /// @notice The lowest valid, non-excluded bid known so far (zero address if none).
    function leader() external view returns (address bidder, uint256 price) {
        Competition memory c = _competition;
        return (c.leader, c.leaderPrice);
    }

    /// @notice The current awardee (zero if none) and its acceptance deadline.
    function awardee() external view returns (address bidder, uint256 acceptDeadline) {
        Award memory a = _award;
        return (a.awardee, a.acceptDeadline);
    }

    /// @notice End of the latest ranking round (zero if none was opened).
    function rankingDeadline() external view returns (uint256) {
        return _award.rankingDeadline;
    }

    /// @notice The Agreement created on acceptance (zero before).
    function agreement() external view returns (address) {
        return _closing.agreement;
    }

    /// @notice When the tender was cancelled (zero if it was not).
    function cancelledAt() external view returns (uint256) {
        return _closing.cancelledAt;
    }

    /// @notice The consortium: the authority for disqualify, award and cancel.
    function consortium() external view returns (address) {
        return _CONSORTIUM;
    }

    /// @notice The Registry that created this tender.
    function registry() external view returns (address) {
        return _REGISTRY;
    }

    /// @notice The Agreement implementation cloned on acceptance.
    function agreementImplementation() external view returns (address) {
        return _AGREEMENT_IMPLEMENTATION;
    }

    /// @notice The buying agency: funds the agreement, receives forfeited bonds.
    function buyer() public view returns (address) {
        return address(bytes20(_arg(_O_BUYER)));
    }

    /// @notice The ERC-20 of the bond and of the price.
    function token() public view returns (IERC20) {
        return IERC20(address(bytes20(_arg(_O_TOKEN))));
    }

    /// @notice The budget ceiling: bids above it are invalid.
    function budget() public view returns (uint256) {
        return uint256(_arg(_O_BUDGET)) >> 168;
    }

    /// @notice The bid bond every bidder deposits with its first commitment.
    function bond() public view returns (uint256) {
        return uint256(_arg(_O_BOND)) >> 168;
    }

    /// @notice Last second at which commitments are accepted.
    function biddingDeadline() public view returns (uint256) {
        return uint256(_arg(_O_BIDDING)) >> 216;
    }

    /// @notice Last second at which bids can be revealed.
    function revealDeadline() public view returns (uint256) {
        return uint256(_arg(_O_REVEAL)) >> 216;
    }

    /// @notice Seconds an awardee has to accept.
    function acceptanceWindow() public view returns (uint32) {
        return uint32(uint256(_arg(_O_WINDOW)) >> 224);
    }

    /// @notice LowestPrice or Evaluation.
    function awardMethod() public view returns (AwardMethod) {
        return AwardMethod(uint8(uint256(_arg(_O_METHOD)) >> 248));
    }

    /// @notice Retention, warranty and late-penalty terms handed to the Agreement.
    function terms() public view returns (AgreementTerms memory) {
        return
            AgreementTerms({
                retentionBps: uint16(uint256(_arg(_O_RETENTION)) >> 240),
                warrantyPeriod: uint32(uint256(_arg(_O_WARRANTY)) >> 224),
                latePenaltyBpsPerDay: uint16(uint256(_arg(_O_PENALTY)) >> 240),
                latePenaltyCapBps: uint16(uint256(_arg(_O_PENALTY_CAP)) >> 240)
            });
    }

    /// @notice Id of the buyer's previous tender in the Registry (0 if none): the Registry's
    /// index by agency is a list threaded through the tenders' immutable args.
    function previousOfAgency() external view returns (uint256) {
        return uint256(_arg(_O_PREVIOUS)) >> 192;
    }

    /// @notice keccak256(abi.encode(plan)) of the milestone plan; the full plan is in the
    /// Registry's TenderCreated event and is passed back at acceptance.
    function planHash() public view returns (bytes32) {
        return _arg(_O_PLAN);
    }

    // ----------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------

    /// @dev Checks and records a commitment (effects only); returns whether it replaced an
    /// earlier one. Callers pull the bond for a first commitment afterwards: the token last.
    function _commitBid(bytes32 commitment) private returns (bool replaced) {
        Competition memory c = _competition;
        if (c.status != Status.Open) {
            if (c.status == Status.None) revert TenderNotInitialized();
            revert TenderWrongStage(Stage.Bidding, stage());
        }
        if (block.timestamp > biddingDeadline()) {
            revert TenderBidTooLate(biddingDeadline(), block.timestamp);
        }
        replaced = _bids[msg.sender].flags != 0;
        _bids[msg.sender] = Bid(
            uint208(uint256(commitment) >> 48),
            uint40(block.number),
            _COMMITTED
        );
        emit BidCommitted(msg.sender, commitment, replaced);
    }

    /// @dev Pulls the bond from the caller and checks it arrived whole: a token that takes a
    /// fee on transfer (switched on at any time, like USDT's) would otherwise leave the tender
    /// short of what it owes, and the last bond withdrawal would fail.
    function _pullBond() private {
        IERC20 token_ = token();
        uint256 amount = bond();
        uint256 before = token_.balanceOf(address(this));
        token_.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token_.balanceOf(address(this)) - before;
        if (received < amount) revert TenderBondShort(amount, received);
    }

    function _leads(
        Competition memory c,
        uint256 price,
        uint40 commitBlock
    ) private view returns (bool) {
        if (c.leader == address(0) || price < c.leaderPrice) return true;
        if (price > c.leaderPrice) return false;
        return commitBlock < _bids[c.leader].commitBlock;
    }

    function _eligibleBid(address bidder) private view returns (Bid memory bid) {
        bid = _bids[bidder];
        if (bid.flags & (_ELIGIBLE | _DISQUALIFIED | _LAPSED | _BOND_SETTLED) != _ELIGIBLE) {
            revert TenderBidderNotEligible(bidder);
        }
    }

    /// @dev The awardee let its window pass: it is excluded and its bond forfeited; a ranking
    /// round opens if it led or the lead was cleared meanwhile. Returns the lapsed awardee.
    function _recordLapse() private returns (address awardee_) {
        awardee_ = _award.awardee;
        _bids[awardee_].flags |= _LAPSED;
        _award.awardee = address(0);
        _competition.status = Status.Open;
        emit AwardLapsed(awardee_);
        address leader_ = _competition.leader;
        if (leader_ == awardee_ || leader_ == address(0)) _openRanking();
    }

    function _openRanking() private {
        uint40 deadline = uint40(block.timestamp + revealDeadline() - biddingDeadline());
        _competition = Competition(0, address(0), _competition.status);
        _award.rankingDeadline = deadline;
        emit RankingOpened(deadline);
    }

    function _evaluationDeadline(Award memory a) private view returns (uint256) {
        uint256 start = revealDeadline();
        if (a.rankingDeadline > start) start = a.rankingDeadline;
        if (a.acceptDeadline > start) start = a.acceptDeadline;
        return start + EVALUATION_PERIOD;
    }

    function _forfeitable(uint8 flags) private view returns (bool) {
        if (flags & _LAPSED != 0) return true;
        if (flags & _REVEALED != 0 || block.timestamp <= revealDeadline()) return false;
        uint256 cancelled = _closing.cancelledAt;
        return cancelled == 0 || cancelled > revealDeadline();
    }

    /// @dev Whether the consortium counts `account` as a member: a member would sit in judgement
    /// of its own contract. Asked with a plain staticcall: an authority without code (a plain
    /// account standing in for the consortium in a test) answers nothing and has no members.
    function _isMember(address account) private view returns (bool) {
        (bool ok, bytes memory answer) = _CONSORTIUM.staticcall(
            abi.encodeCall(IConsortiumMembers.isMember, (account))
        );
        return ok && answer.length == 32 && abi.decode(answer, (bool));
    }

    function _checkConsortium() private view {
        if (msg.sender != _CONSORTIUM) revert TenderNotConsortium(msg.sender);
    }

    /// @dev One 32-byte word of the clone's immutable args, starting at `offset`.
    function _arg(uint256 offset) private view returns (bytes32 word) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            extcodecopy(address(), ptr, add(_CODE_ARGS, offset), 32)
            word := mload(ptr)
        }
    }
}
