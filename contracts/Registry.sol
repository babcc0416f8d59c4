// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {MilestonePlan} from "./interfaces/IAgreement.sol";
import {Tender, TenderParams} from "./Tender.sol";

/// @title Registry
/// @notice The public index of tenders: which agencies may buy, how much they may buy in the
/// current rollout phase, and every tender by id and by agency with its OCDS `ocid`.
/// @dev Tenders are EIP-1167 clones of one {Tender} implementation, deployed by this contract
/// in its constructor, with their parameters as immutable args in the clone's code. The index
/// costs no storage per tender: this contract CREATEs nothing but tenders after its
/// constructor, so tender `id` lives at the CREATE address for nonce `id + 1`; the index by
/// agency is a list threaded through each tender's immutable `previousOfAgency`.
contract Registry {
    struct AgencyRecord {
        bool active;
        uint64 tenderCount;
        uint64 lastTenderId;
    }

    struct Phase {
        uint64 tenderCount;
        uint128 cap;
    }

    /// @notice The most milestones a plan may have.
    uint256 public constant MAX_MILESTONES = 32;
    /// @notice The shortest bidding period (publication to bidding deadline) a tender may have.
    uint256 public constant MIN_BIDDING_PERIOD = 1 days;
    /// @notice The shortest reveal period (also the length of every ranking round).
    uint256 public constant MIN_REVEAL_PERIOD = 1 days;
    /// @notice The shortest time an awardee may be given to accept.
    uint256 public constant MIN_ACCEPTANCE_WINDOW = 1 days;
    /// @notice The longest text (a tender notice or a published text), in bytes.
    uint256 public constant MAX_TEXT_BYTES = 8192;
    uint256 private constant _BPS = 10_000;

    address private immutable _CONSORTIUM;
    address private immutable _TENDER_IMPLEMENTATION;
    address private immutable _AGREEMENT_IMPLEMENTATION;
    IERC20 private immutable _TOKEN;

    string private _ocidPrefix;
    Phase private _phase;
    mapping(address agency => AgencyRecord) private _agencies;

    /// @notice The consortium admitted a buying agency.
    event AgencyAdded(address indexed agency);
    /// @notice The consortium removed a buying agency (its tenders stay).
    event AgencyRemoved(address indexed agency);
    /// @notice The consortium raised the maximum budget of the rollout phase.
    event PhaseCapRaised(uint256 previousCap, uint256 newCap);
    /// @notice An agency published a tender. The notice's hash and the full milestone plan
    /// live only here (the tender keeps the plan's hash); every other parameter is readable
    /// from the tender's views. The notice itself (UTF-8 JSON: title, description, items,
    /// documents with their hashes, milestone titles) is in the transaction's calldata, where
    /// it costs 16 gas a byte (up to EIP-7623's floor of 40 in a calldata-heavy transaction)
    /// rather than 8 more in a log; readers check it against `noticeHash`. An agency that is
    /// a contract gets {TenderNotice} too: its calldata is nested, readable only from traces.
    event TenderCreated(
        uint256 indexed id,
        address indexed tender,
        address indexed agency,
        bytes32 noticeHash,
        MilestonePlan[] plan
    );
    /// @notice Someone put a text on the record: a reason, a report, a declaration. Anyone may
    /// publish; a text matters when a decision names its hash (`reasonHash`, `reportHash`),
    /// and then a reader knows it is the very text that was decided on.
    event TextPublished(bytes32 indexed hash, address indexed author, string text);
    /// @notice The notice of tender `id`, logged when its agency is a contract (an EOA's
    /// notice is read from the transaction's own calldata).
    event TenderNotice(uint256 indexed id, string notice);

    error RegistryNotConsortium(address caller);
    error RegistryNotAgency(address caller);
    error RegistryZeroAddress();
    error RegistryAgencyAlreadyAdded(address agency);
    error RegistryUnknownAgency(address agency);
    error RegistryPhaseCapNotRaised(uint256 current, uint256 requested);
    error RegistryBudgetAboveCap(uint256 budget, uint256 cap);
    error RegistryInvalidAmounts(uint256 budget, uint256 bond);
    error RegistryInvalidDeadlines(uint256 biddingDeadline, uint256 revealDeadline, uint256 now_);
    error RegistryAcceptanceWindowTooShort(uint256 window, uint256 minimum);
    error RegistryBiddingPeriodTooShort(uint256 period, uint256 minimum);
    error RegistryRevealPeriodTooShort(uint256 period, uint256 minimum);
    error RegistryTokenNotAccepted(address token, address accepted);
    error RegistryInvalidTerms(uint256 retentionBps, uint256 latePenaltyCapBps);
    error RegistryInvalidPlan(uint256 milestones, uint256 shareSum);
    error RegistryUnknownTender(uint256 id);
    error RegistryTextEmpty();
    error RegistryTextTooLong(uint256 length, uint256 maximum);

    /// @param consortium_ the authority: admits agencies, raises the cap, decides on tenders
    /// @param agreementImplementation_ the Agreement escrow every tender clones on acceptance
    /// @param token_ the one currency of this registry's tenders: budgets, bonds and the phase
    /// cap are all in its units, so the cap caps value (another currency: another registry)
    /// @param phaseCap_ the maximum tender budget of the first rollout phase, in `token_` units
    /// @param ocidPrefix_ the OCDS ocid prefix (e.g. "ocds-abc123"); ocids are
    /// `<prefix>-<chain id>-<registry address>-<id>`
    constructor(
        address consortium_,
        address agreementImplementation_,
        IERC20 token_,
        uint128 phaseCap_,
        string memory ocidPrefix_
    ) {
        if (
            consortium_ == address(0) ||
            agreementImplementation_ == address(0) ||
            address(token_) == address(0)
        ) {
            revert RegistryZeroAddress();
        }
        _CONSORTIUM = consortium_;
        _AGREEMENT_IMPLEMENTATION = agreementImplementation_;
        _TOKEN = token_;
        _TENDER_IMPLEMENTATION = address(new Tender(consortium_, agreementImplementation_));
        _phase.cap = phaseCap_;
        _ocidPrefix = ocidPrefix_;
    }

    /// @notice Admits a buying agency. Consortium only.
    /// @dev Emits {AgencyAdded}. Reverts with {RegistryNotConsortium}, {RegistryZeroAddress},
    /// {RegistryAgencyAlreadyAdded}.
    function addAgency(address agency) external {
        _checkConsortium();
        if (agency == address(0)) revert RegistryZeroAddress();
        if (_agencies[agency].active) revert RegistryAgencyAlreadyAdded(agency);
        _agencies[agency].active = true;
        emit AgencyAdded(agency);
    }

    /// @notice Removes a buying agency; its published tenders continue. Consortium only.
    /// @dev Emits {AgencyRemoved}. Reverts with {RegistryNotConsortium}, {RegistryUnknownAgency}.
    function removeAgency(address agency) external {
        _checkConsortium();
        if (!_agencies[agency].active) revert RegistryUnknownAgency(agency);
        _agencies[agency].active = false;
        emit AgencyRemoved(agency);
    }

    /// @notice Raises the maximum budget of the rollout phase. Consortium only; never lowers it.
    /// @dev Emits {PhaseCapRaised}. Reverts with {RegistryNotConsortium},
    /// {RegistryPhaseCapNotRaised}.
    function raisePhaseCap(uint128 newCap) external {
        _checkConsortium();
        uint128 current = _phase.cap;
        if (newCap <= current) revert RegistryPhaseCapNotRaised(current, newCap);
        _phase.cap = newCap;
        emit PhaseCapRaised(current, newCap);
    }

    /// @notice Publishes a tender: clones the Tender implementation with `params` (and the
    /// hash of `plan`) as immutable args, opens it and indexes it. Agencies only; the caller
    /// is the buyer.
    /// @param params token, budget, bond, deadlines, acceptance window, award method, terms
    /// @param plan milestone shares (summing to 10 000 bps), due offsets and description hashes
    /// @param notice what a person reads: UTF-8 JSON with the title, description, items,
    /// category, documents (with their hashes) and milestone titles; 1 to {MAX_TEXT_BYTES}
    /// bytes. Only its hash is emitted; the text stays in the calldata.
    /// @return id the tender's id (its ocid is `ocid(id)`)
    /// @return tender the tender's address
    /// @dev Emits {TenderCreated} (and {TenderNotice} for a contract agency). Reverts with
    /// {RegistryNotAgency}, {RegistryTextEmpty},
    /// {RegistryTextTooLong}, {RegistryTokenNotAccepted},
    /// {RegistryInvalidAmounts}, {RegistryBudgetAboveCap}, {RegistryInvalidDeadlines},
    /// {RegistryBiddingPeriodTooShort}, {RegistryRevealPeriodTooShort},
    /// {RegistryAcceptanceWindowTooShort}, {RegistryInvalidTerms}, {RegistryInvalidPlan}.
    function createTender(
        TenderParams calldata params,
        MilestonePlan[] calldata plan,
        string calldata notice
    ) external returns (uint256 id, address tender) {
        AgencyRecord memory agency = _agencies[msg.sender];
        if (!agency.active) revert RegistryNotAgency(msg.sender);
        _checkText(bytes(notice));
        Phase memory phase = _phase;
        _checkParams(params, phase.cap);
        _checkPlan(plan);

        bytes memory args = _cloneArgs(params, agency.lastTenderId, keccak256(abi.encode(plan)));
        tender = Clones.cloneWithImmutableArgs(_TENDER_IMPLEMENTATION, args);
        id = phase.tenderCount + 1;
        assert(tender == _tenderAddress(id)); // the storage-free index holds

        // Effects before the call into the clone (checks-effects-interactions).
        _phase.tenderCount = uint64(id);
        _agencies[msg.sender] = AgencyRecord(true, agency.tenderCount + 1, uint64(id));
        emit TenderCreated(id, tender, msg.sender, keccak256(bytes(notice)), plan);
        if (msg.sender.code.length != 0) emit TenderNotice(id, notice);
        Tender(tender).initialize();
    }

    /// @notice Puts `text` on the record (a reason, a report, a declaration) and returns its
    /// hash, the `reasonHash` or `reportHash` a decision names. Anyone may publish.
    /// @dev Emits {TextPublished}. Reverts with {RegistryTextEmpty}, {RegistryTextTooLong}.
    function publish(string calldata text) external returns (bytes32 hash) {
        _checkText(bytes(text));
        hash = keccak256(bytes(text));
        emit TextPublished(hash, msg.sender, text);
    }

    /// @notice The consortium: the only account that manages agencies and the phase cap.
    function consortium() external view returns (address) {
        return _CONSORTIUM;
    }

    /// @notice The Tender implementation every tender is a clone of.
    function tenderImplementation() external view returns (address) {
        return _TENDER_IMPLEMENTATION;
    }

    /// @notice The Agreement implementation tenders clone on acceptance.
    function agreementImplementation() external view returns (address) {
        return _AGREEMENT_IMPLEMENTATION;
    }

    /// @notice The currency of every tender: budgets, bonds and the phase cap are in its units.
    function token() external view returns (IERC20) {
        return _TOKEN;
    }

    /// @notice The maximum tender budget of the current rollout phase, in {token} units.
    function phaseCap() external view returns (uint256) {
        return _phase.cap;
    }

    /// @notice How many tenders were published (ids run from 1 to this).
    function tenderCount() external view returns (uint256) {
        return _phase.tenderCount;
    }

    /// @notice Whether `agency` may publish tenders.
    function isAgency(address agency) external view returns (bool) {
        return _agencies[agency].active;
    }

    /// @notice The tender with id `id`. Reverts with {RegistryUnknownTender}.
    function tenderOf(uint256 id) external view returns (address) {
        _checkId(id);
        return _tenderAddress(id);
    }

    /// @notice The OCDS ocid of tender `id`: `<prefix>-<chain id>-<this registry>-<id>`, so two
    /// deployments (on one chain or on two) never mint the same ocid, even with one prefix.
    /// Reverts with {RegistryUnknownTender}.
    function ocid(uint256 id) external view returns (string memory) {
        _checkId(id);
        return
            string.concat(
                _ocidPrefix,
                "-",
                Strings.toString(block.chainid),
                "-",
                Strings.toHexString(address(this)),
                "-",
                Strings.toString(id)
            );
    }

    /// @notice The OCDS ocid prefix of this registry.
    function ocidPrefix() external view returns (string memory) {
        return _ocidPrefix;
    }

    /// @notice Ids of the tenders `agency` published, newest first (a view: walks a list).
    function tendersOf(address agency) external view returns (uint256[] memory ids) {
        AgencyRecord memory record = _agencies[agency];
        ids = new uint256[](record.tenderCount);
        uint256 id = record.lastTenderId;
        for (uint256 i = 0; i < ids.length; ++i) {
            ids[i] = id;
            id = Tender(_tenderAddress(id)).previousOfAgency();
        }
    }

    /// @dev The packed layout {Tender} reads back (see its `_O_*` offsets).
    function _cloneArgs(
        TenderParams calldata params,
        uint64 previousOfAgency,
        bytes32 planHash
    ) private view returns (bytes memory) {
        bytes memory head = abi.encodePacked(
            msg.sender,
            params.token,
            uint88(params.budget),
            uint88(params.bond),
            params.biddingDeadline,
            params.revealDeadline,
            params.acceptanceWindow,
            uint8(params.method)
        );
        return
            abi.encodePacked(
                head,
                params.terms.retentionBps,
                params.terms.warrantyPeriod,
                params.terms.latePenaltyBpsPerDay,
                params.terms.latePenaltyCapBps,
                previousOfAgency,
                planHash
            );
    }

    function _checkText(bytes calldata text) private pure {
        if (text.length == 0) revert RegistryTextEmpty();
        if (text.length > MAX_TEXT_BYTES) revert RegistryTextTooLong(text.length, MAX_TEXT_BYTES);
    }

    function _checkParams(TenderParams calldata params, uint256 cap) private view {
        if (params.token != _TOKEN) revert RegistryTokenNotAccepted(address(params.token), address(_TOKEN));
        if (
            params.budget == 0 ||
            params.bond == 0 ||
            params.budget > type(uint88).max ||
            params.bond > type(uint88).max
        ) revert RegistryInvalidAmounts(params.budget, params.bond);
        if (params.budget > cap) revert RegistryBudgetAboveCap(params.budget, cap);
        if (params.biddingDeadline <= block.timestamp || params.revealDeadline <= params.biddingDeadline) {
            revert RegistryInvalidDeadlines(
                params.biddingDeadline,
                params.revealDeadline,
                block.timestamp
            );
        }
        if (params.biddingDeadline - block.timestamp < MIN_BIDDING_PERIOD) {
            revert RegistryBiddingPeriodTooShort(params.biddingDeadline - block.timestamp, MIN_BIDDING_PERIOD);
        }
        if (params.revealDeadline - params.biddingDeadline < MIN_REVEAL_PERIOD) {
            revert RegistryRevealPeriodTooShort(params.revealDeadline - params.biddingDeadline, MIN_REVEAL_PERIOD);
        }
        if (params.acceptanceWindow < MIN_ACCEPTANCE_WINDOW) {
            revert RegistryAcceptanceWindowTooShort(params.acceptanceWindow, MIN_ACCEPTANCE_WINDOW);
        }
        if (params.terms.retentionBps > _BPS || params.terms.latePenaltyCapBps > _BPS) {
            revert RegistryInvalidTerms(params.terms.retentionBps, params.terms.latePenaltyCapBps);
        }
    }

    function _checkPlan(MilestonePlan[] calldata plan) private pure {
        uint256 sum = 0;
        bool zeroShare = false;
        for (uint256 i = 0; i < plan.length; ++i) {
            sum += plan[i].shareBps;
            zeroShare = zeroShare || plan[i].shareBps == 0;
        }
        if (plan.length == 0 || plan.length > MAX_MILESTONES || sum != _BPS || zeroShare) {
            revert RegistryInvalidPlan(plan.length, sum);
        }
    }

    function _checkId(uint256 id) private view {
        if (id == 0 || id > _phase.tenderCount) revert RegistryUnknownTender(id);
    }

    /// @dev The CREATE address of this contract's nonce `id + 1` (nonce 1 made the
    /// implementation): keccak256(rlp([address(this), nonce]))[12:].
    function _tenderAddress(uint256 id) private view returns (address) {
        uint256 nonce = id + 1;
        bytes memory rlp;
        if (nonce <= 0x7f) {
            rlp = abi.encodePacked(bytes1(0xd6), bytes1(0x94), address(this), uint8(nonce));
        } else {
            uint256 length = 0;
            for (uint256 v = nonce; v != 0; v >>= 8) ++length;
            bytes memory bigEndian = new bytes(length);
            for (uint256 i = 0; i < length; ++i) {
                bigEndian[i] = bytes1(uint8(nonce >> (8 * (length - 1 - i))));
            }
            rlp = abi.encodePacked(
                bytes1(uint8(0xd6 + length)),
                bytes1(0x94),
                address(this),
                bytes1(uint8(0x80 + length)),
                bigEndian
            );
        }
        return address(uint160(uint256(keccak256(rlp))));
    }

    function _checkConsortium() private view {
        if (msg.sender != _CONSORTIUM) revert RegistryNotConsortium(msg.sender);
    }
}
