// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IAgreement, AgreementTerms, MilestonePlan} from "../interfaces/IAgreement.sol";

/// @title TestAgreementFactory
/// @notice Test-only stand-in for the Tender: clones an Agreement implementation and initialises
/// it in the same transaction, exactly as the Tender does on award acceptance.
contract TestAgreementFactory {
    /// @notice The Agreement implementation every clone delegates to.
    address public immutable IMPLEMENTATION;

    /// @notice A clone was created and initialised.
    event AgreementCreated(address indexed agreement);

    constructor(address implementation_) {
        IMPLEMENTATION = implementation_;
    }

    /// @notice Clones the implementation and initialises the clone.
    /// @param consortium the authority
    /// @param buyer the funding agency
    /// @param supplier the awarded bidder
    /// @param token the payment token
    /// @param price the awarded price
    /// @param terms retention, warranty and penalty terms
    /// @param plan the milestone plan
    /// @return agreement the new clone
    function create(
        address consortium,
        address buyer,
        address supplier,
        IERC20 token,
        uint256 price,
        AgreementTerms calldata terms,
        MilestonePlan[] calldata plan
    ) external returns (address agreement) {
        agreement = Clones.clone(IMPLEMENTATION);
        IAgreement(agreement).initialize(consortium, buyer, supplier, token, price, terms, plan);
        emit AgreementCreated(agreement);
    }

    /// @notice Clones the implementation without initialising it (to test `initialize` itself).
    /// @return agreement the new, uninitialised clone
    function cloneOnly() external returns (address agreement) {
        agreement = Clones.clone(IMPLEMENTATION);
        emit AgreementCreated(agreement);
    }
}
