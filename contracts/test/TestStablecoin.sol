// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title TestStablecoin
/// @notice Test-only tUSD: 6 decimals, EIP-2612 permit, and a `mint` anyone may call.
/// Never deploy outside a devnet.
contract TestStablecoin is ERC20, ERC20Permit {
    constructor() ERC20("Test USD", "tUSD") ERC20Permit("Test USD") {}

    /// @notice Creates `amount` tokens for `to` (test only, unrestricted).
    /// @param to the receiver
    /// @param amount base units (6 decimals)
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Six decimals, like USDC.
    /// @return 6
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
