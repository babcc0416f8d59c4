// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DemoStablecoin
/// @notice dUSD: a 6-decimal stablecoin with EIP-2612 permit for local devnets and tests.
/// The owner mints; on a devnet chain (Anvil's 31337) anyone may use the faucet.
contract DemoStablecoin is ERC20, ERC20Permit, Ownable {
    uint256 public constant DEVNET_CHAIN_ID = 31337;
    uint256 public constant FAUCET_LIMIT = 1_000_000 * 10 ** 6;

    error DemoStablecoinNotDevnet(uint256 chainId);
    error DemoStablecoinFaucetLimit(uint256 amount, uint256 limit);

    constructor(address owner) ERC20("Demo USD", "dUSD") ERC20Permit("Demo USD") Ownable(owner) {}

    /// @notice 6, like the dollar stablecoins it stands in for.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`. Owner only.
    /// @dev Emits {Transfer}. Reverts with OwnableUnauthorizedAccount.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Mints up to FAUCET_LIMIT to `to`, on a devnet only.
    /// @dev Emits {Transfer}. Reverts with DemoStablecoinNotDevnet, DemoStablecoinFaucetLimit.
    function faucet(address to, uint256 amount) external {
        if (block.chainid != DEVNET_CHAIN_ID) revert DemoStablecoinNotDevnet(block.chainid);
        if (amount > FAUCET_LIMIT) revert DemoStablecoinFaucetLimit(amount, FAUCET_LIMIT);
        _mint(to, amount);
    }
}
