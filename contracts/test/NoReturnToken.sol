// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title NoReturnToken
/// @notice Test-only USDT-style token: `transfer`, `transferFrom` and `approve` return nothing
/// and revert on failure.
contract NoReturnToken {
    /// @notice Balances by holder.
    mapping(address holder => uint256) public balanceOf;
    /// @notice Allowances by holder and spender.
    mapping(address holder => mapping(address spender => uint256)) public allowance;
    /// @notice Total supply.
    uint256 public totalSupply;

    /// @notice ERC-20 Transfer.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice ERC-20 Approval.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice A transfer beyond the balance or allowance.
    error NoReturnTokenInsufficient(uint256 available, uint256 needed);

    /// @notice Creates `amount` tokens for `to` (test only, unrestricted).
    /// @param to the receiver
    /// @param amount base units
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Approves `spender`; returns nothing.
    /// @param spender the spender
    /// @param amount the allowance
    function approve(address spender, uint256 amount) external {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
    }

    /// @notice Transfers; returns nothing.
    /// @param to the receiver
    /// @param amount base units
    function transfer(address to, uint256 amount) external {
        _move(msg.sender, to, amount);
    }

    /// @notice Transfers with an allowance; returns nothing.
    /// @param from the holder
    /// @param to the receiver
    /// @param amount base units
    function transferFrom(address from, address to, uint256 amount) external {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed < amount) revert NoReturnTokenInsufficient(allowed, amount);
        allowance[from][msg.sender] = allowed - amount;
        _move(from, to, amount);
    }

    /// @notice Six decimals, like USDT.
    /// @return 6
    function decimals() external pure returns (uint8) {
        return 6;
    }

    function _move(address from, address to, uint256 amount) private {
        uint256 balance = balanceOf[from];
        if (balance < amount) revert NoReturnTokenInsufficient(balance, amount);
        balanceOf[from] = balance - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
