// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlocklistToken
/// @notice Test-only token (USDC-style) whose transfers to a blocked address revert.
contract BlocklistToken is ERC20 {
    /// @notice Addresses that cannot receive.
    mapping(address account => bool) public blocked;

    /// @notice A transfer to a blocked address.
    error BlocklistTokenBlocked(address account);

    constructor() ERC20("Blocklist Token", "BLK") {}

    /// @notice Creates `amount` tokens for `to` (test only, unrestricted).
    /// @param to the receiver
    /// @param amount base units
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Blocks or unblocks `account` as a receiver (test only, unrestricted).
    /// @param account the address
    /// @param isBlocked whether transfers to it revert
    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[to]) revert BlocklistTokenBlocked(to);
        super._update(from, to, value);
    }
}
