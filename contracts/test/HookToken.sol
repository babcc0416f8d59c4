// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice What a HookToken receiver implements (ERC-777-like `tokensReceived`).
interface ITokenReceiver {
    /// @notice Called after `amount` arrived from `from`.
    /// @param from the sender
    /// @param amount base units
    function tokensReceived(address from, uint256 amount) external;
}

/// @title HookToken
/// @notice Test-only ERC-777-like token: after a transfer to an address that registered a hook it
/// calls the receiver's `tokensReceived`, so the receiver runs code (may revert, may re-enter).
contract HookToken is ERC20 {
    /// @notice Receivers whose `tokensReceived` is called.
    mapping(address account => bool) public hooked;

    constructor() ERC20("Hook Token", "HOOK") {}

    /// @notice Asks for `tokensReceived` calls on every transfer to the caller.
    function registerHook() external {
        hooked[msg.sender] = true;
    }

    /// @notice Creates `amount` tokens for `to` (test only, unrestricted).
    /// @param to the receiver
    /// @param amount base units
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && hooked[to]) ITokenReceiver(to).tokensReceived(from, value);
    }
}
