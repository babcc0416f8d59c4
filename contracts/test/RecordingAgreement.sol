// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AgreementTerms, IAgreement, MilestonePlan} from "../interfaces/IAgreement.sol";

/// @title RecordingAgreement
/// @notice Test double of the Agreement escrow: records what the Tender initialised it with.
contract RecordingAgreement is IAgreement {
    address public consortium;
    address public buyer;
    address public supplier;
    IERC20 public token;
    uint256 public price;
    AgreementTerms public terms;
    bytes32 public planHash;
    uint256 public milestoneCount;
    bool public initialized;

    error RecordingAgreementAlreadyInitialized();

    /// @inheritdoc IAgreement
    function initialize(
        address consortium_,
        address buyer_,
        address supplier_,
        IERC20 token_,
        uint256 price_,
        AgreementTerms calldata terms_,
        MilestonePlan[] calldata plan
    ) external {
        if (initialized) revert RecordingAgreementAlreadyInitialized();
        initialized = true;
        consortium = consortium_;
        buyer = buyer_;
        supplier = supplier_;
        token = token_;
        price = price_;
        terms = terms_;
        planHash = keccak256(abi.encode(plan));
        milestoneCount = plan.length;
    }
}
