// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice Test-only token that burns a fee of every transfer (1% unless changed): the receiver
/// gets the rest. Like USDT, whose fee can be switched on at any time.
contract FeeOnTransferToken is ERC20 {
    /// @notice The fee in basis points of each transfer.
    uint256 public feeBps = 100;

    constructor() ERC20("Fee Token", "FEE") {}

    /// @notice Creates `amount` tokens for `to` (test only, unrestricted).
    /// @param to the receiver
    /// @param amount base units
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Changes the fee (test only, unrestricted).
    /// @param bps basis points burnt from each transfer (at most 10,000)
    function setFee(uint256 bps) external {
        feeBps = bps;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = (value * feeBps) / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
