// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IProcurementParty
/// @notice What a procurement contract (a Tender, an Agreement) tells the Consortium about who
/// takes part in it, so that a member's declared conflict of interest follows its subject through
/// the whole procurement: a conflict with a bidder recuses the member from every decision on
/// that bidder's tender and on the agreement it leads to, not only from decisions naming it.
interface IProcurementParty {
    /// @notice The first of `candidates` that is a party to this procurement, zero if none.
    /// @param candidates addresses a member declared conflicts with
    /// @return party the first party found
    function partyAmong(address[] calldata candidates) external view returns (address party);
}
