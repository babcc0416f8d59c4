// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title CoverageProbe
/// @notice A contract of known shape for the coverage tool's own test
/// (tests/test_coverage_tool.py): which lines and branch outcomes a call runs is obvious here.
contract CoverageProbe {
    uint256 public constant LIMIT = 100;

    uint256 private _value;

    /// @notice A value above {LIMIT} was offered.
    error CoverageProbeTooLarge(uint256 value, uint256 limit);

    /// @notice `value` was stored.
    event Stored(uint256 value);

    /// @notice Starts at `initial`. Emits {Stored}; reverts with {CoverageProbeTooLarge} above {LIMIT}.
    constructor(uint256 initial) {
        if (initial > LIMIT) revert CoverageProbeTooLarge(initial, LIMIT);
        _value = initial;
        emit Stored(initial);
    }

    /// @notice Stores `value`. Emits {Stored}; reverts with {CoverageProbeTooLarge} above {LIMIT}.
    function store(uint256 value) external {
        if (value > LIMIT) revert CoverageProbeTooLarge(value, LIMIT);
        _value = value;
        emit Stored(value);
    }

    /// @notice One Collatz step: `value / 2` for an even value, `3 * value + 1` for an odd one.
    function step(uint256 value) external pure returns (uint256) {
        if (value % 2 == 0) {
            return value / 2;
        }
        return 3 * value + 1;
    }

    /// @notice The stored value.
    function value() external view returns (uint256) {
        return _value;
    }
}
