// SPDX-License-Identifier: Apache-2.0
/* solhint-disable one-contract-per-file */
pragma solidity 0.8.28;

/// @title PocAgency
/// @notice Review PoC helper: an agency that is a contract, whose transaction's call trace
/// an attacker shapes (decoy calls, reverted calls, deep recursion before the real call).
contract PocAgency {
    /// @notice Calls `targets[i]` with `data[i]` in order; a failed call reverts the whole
    /// transaction unless `mayFail[i]` (then its frame stays in the trace, reverted).
    function run(address[] calldata targets, bytes[] calldata data, bool[] calldata mayFail) external {
        for (uint256 i = 0; i < targets.length; ++i) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = targets[i].call(data[i]);
            if (!ok && !mayFail[i]) _bubble(ret);
        }
    }

    /// @notice First lets `recursor` call itself as deep as the gas allows, then calls
    /// `target` with `data` (e.g. Registry.createTender, or Consortium.execute).
    function deepThenCall(address recursor, address target, bytes calldata data) external {
        // solhint-disable-next-line avoid-low-level-calls
        (bool deepOk, ) = recursor.call("");
        deepOk; // the recursion ends out of gas at the bottom: its result does not matter
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) _bubble(ret);
    }

    function _bubble(bytes memory ret) private pure {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            revert(add(ret, 32), mload(ret))
        }
    }
}

/// @title PocRecursor
/// @notice Calls itself with all the gas it may forward, until the gas or the call depth ends.
contract PocRecursor {
    fallback() external {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            pop(call(gas(), address(), 0, 0, 0, 0, 0))
        }
    }
}
