// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ITokenReceiver} from "./HookToken.sol";

/// @title HookRecipient
/// @notice Test-only contract party (a bidder, supplier or buyer that is a contract). It forwards
/// calls, and when HookToken tokens arrive it accepts them, reverts, or re-enters the sender
/// (with `withdraw()`, or the call set by {setReentryCall}).
contract HookRecipient is ITokenReceiver {
    /// @notice What the receive hook does.
    enum Mode {
        Accept,
        Revert,
        Reenter
    }

    /// @notice The current behaviour of the hook.
    Mode public mode;
    /// @notice Calldata of the re-entering call (empty: `withdraw()`).
    bytes public reentryCall;

    /// @notice The hook refuses the tokens.
    error HookRecipientRefused(address from, uint256 amount);

    /// @notice Sets what the receive hook does.
    /// @param newMode Accept, Revert or Reenter
    function setMode(Mode newMode) external {
        mode = newMode;
    }

    /// @notice Sets the call made into the token's sender in Reenter mode.
    /// @param data the calldata (empty: `withdraw()`)
    function setReentryCall(bytes calldata data) external {
        reentryCall = data;
    }

    /// @notice Calls `target` with `data` as this contract (test only, unrestricted).
    /// @param target the contract called
    /// @param data the calldata
    /// @return the call's return data
    function forward(address target, bytes calldata data) external returns (bytes memory) {
        return Address.functionCall(target, data);
    }

    /// @inheritdoc ITokenReceiver
    function tokensReceived(address from, uint256 amount) external {
        if (mode == Mode.Revert) revert HookRecipientRefused(from, amount);
        if (mode == Mode.Reenter) {
            bytes memory data = reentryCall.length == 0 ? abi.encodeWithSignature("withdraw()") : reentryCall;
            Address.functionCall(from, data);
        }
    }
}
