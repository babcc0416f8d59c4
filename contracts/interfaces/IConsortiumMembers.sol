// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IConsortiumMembers
/// @notice The one question a Tender asks its consortium: is this address a member (who may
/// not be awarded, since it would then decide on its own contract)?
interface IConsortiumMembers {
    /// @notice Whether `account` is a current member.
    /// @param account any address
    /// @return whether it is a member now
    function isMember(address account) external view returns (bool);
}
