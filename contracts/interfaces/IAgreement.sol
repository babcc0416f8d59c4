// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice One milestone of a tender's plan: a share of the awarded price, due some time
/// after the agreement is created. Shares of a plan sum to exactly 10_000 bps.
struct MilestonePlan {
    uint16 shareBps;
    uint32 dueOffset;
    bytes32 descriptionHash;
}

/// @notice Contract terms the tender fixes up front and the agreement enforces.
struct AgreementTerms {
    /// share of every milestone payment held back until the warranty period ends
    uint16 retentionBps;
    /// seconds after the last accepted milestone before retention is released
    uint32 warrantyPeriod;
    /// penalty per started day late, as a share of the milestone amount
    uint16 latePenaltyBpsPerDay;
    /// the penalty never exceeds this share of the milestone amount
    uint16 latePenaltyCapBps;
}

/// @title IAgreement
/// @notice The escrow a Tender creates (as an EIP-1167 clone) when the supplier accepts the award.
interface IAgreement {
    /// @notice Initialises a fresh clone. Callable once.
    /// @param consortium the authority that accepts milestones, resolves disputes, terminates
    /// @param buyer the agency that funds the agreement and receives refunds and penalties
    /// @param supplier the awarded bidder that is paid per accepted milestone
    /// @param token the ERC-20 the price is paid in
    /// @param price the awarded price; milestone amounts sum to exactly this
    /// @param terms retention, warranty and late-penalty terms from the tender
    /// @param plan the tender's milestone plan, scaled to `price`
    function initialize(
        address consortium,
        address buyer,
        address supplier,
        IERC20 token,
        uint256 price,
        AgreementTerms calldata terms,
        MilestonePlan[] calldata plan
    ) external;
}
