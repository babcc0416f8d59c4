// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

/// @title ContractSigner
/// @notice Test-only EIP-1271 wallet with one owner, used as a consortium member whose answer
/// can be switched between signing and execution. It signs like a 1-of-1 Safe: the owner's
/// ECDSA signature of the Safe message hash `SafeMessage(bytes message)` (message =
/// abi.encode(hash)) under this wallet's domain (chainId, verifyingContract).
/// @dev `isValidSignature` is deliberately not `view`, so the modes that write state or call
/// out show what the consortium's staticcall prevents.
contract ContractSigner {
    /// @notice How `isValidSignature` answers.
    enum Mode {
        Valid, // checks the owner's signature (the honest wallet)
        Refuse, // answers "invalid" to everything
        Revert, // reverts
        BurnGas, // consumes all the gas it is given
        WriteState, // tries to record the question before answering "valid"
        Reenter // makes the armed call (e.g. into the consortium) before answering "valid"
    }

    bytes4 private constant _MAGIC = 0x1626ba7e; // isValidSignature(bytes32,bytes)
    bytes32 private constant _DOMAIN_TYPEHASH = keccak256("EIP712Domain(uint256 chainId,address verifyingContract)");
    bytes32 private constant _SAFE_MSG_TYPEHASH = keccak256("SafeMessage(bytes message)");

    /// @notice The key holder.
    address public immutable OWNER;
    /// @notice The current answering mode.
    Mode public mode;
    /// @notice Questions recorded in WriteState mode (stays 0 under a staticcall).
    uint256 public questions;
    /// @notice Target of the armed call (zero: none).
    address public armedTarget;
    /// @notice Calldata of the armed call, made in Reenter mode and whenever ether arrives.
    bytes public armedData;

    /// @notice Only the owner may do this.
    error ContractSignerNotOwner(address caller);
    /// @notice The wallet refuses to answer (Revert mode).
    error ContractSignerRefused(bytes32 hash);

    modifier onlyOwner() {
        if (msg.sender != OWNER) revert ContractSignerNotOwner(msg.sender);
        _;
    }

    /// @param owner_ the key holder
    constructor(address owner_) {
        OWNER = owner_;
    }

    /// @notice Makes the armed call, if any, when ether arrives (a member that re-enters when
    /// the consortium pays it); its failure bubbles up.
    receive() external payable {
        if (armedTarget != address(0)) Address.functionCall(armedTarget, armedData);
    }

    /// @notice Sets how `isValidSignature` answers. Owner only.
    /// @param newMode the mode
    function setMode(Mode newMode) external onlyOwner {
        mode = newMode;
    }

    /// @notice Arms (or, with a zero target, disarms) the call made in Reenter mode and on
    /// receiving ether. Owner only.
    /// @param target the contract called
    /// @param data its calldata
    function arm(address target, bytes calldata data) external onlyOwner {
        armedTarget = target;
        armedData = data;
    }

    /// @notice Calls `target` as this wallet (to approve on-chain, declare a conflict, ...).
    /// Owner only.
    /// @param target the contract called
    /// @param data the calldata
    /// @return the call's return data
    function forward(address target, bytes calldata data) external onlyOwner returns (bytes memory) {
        return Address.functionCall(target, data);
    }

    /// @notice EIP-1271: whether `signature` is this wallet's signature of `hash`, per mode.
    /// @param hash the signed digest (the consortium's action hash)
    /// @param signature the owner's 65-byte signature of {messageHash}(hash)
    /// @return the EIP-1271 magic value when valid, 0xffffffff otherwise
    function isValidSignature(bytes32 hash, bytes calldata signature) external returns (bytes4) {
        Mode current = mode;
        if (current == Mode.Refuse) return 0xffffffff;
        if (current == Mode.Revert) revert ContractSignerRefused(hash);
        if (current == Mode.BurnGas) {
            // solhint-disable-next-line no-inline-assembly
            assembly {
                invalid()
            }
        }
        if (current == Mode.WriteState) {
            ++questions;
            return _MAGIC;
        }
        if (current == Mode.Reenter) {
            Address.functionCall(armedTarget, armedData);
            return _MAGIC;
        }
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecover(messageHash(hash), signature);
        return error == ECDSA.RecoverError.NoError && signer == OWNER ? _MAGIC : bytes4(0xffffffff);
    }

    /// @notice What the owner signs for `hash`: Safe's message hash for this wallet.
    /// @param hash the digest to be signed on the wallet's behalf
    /// @return the EIP-712 digest of SafeMessage(abi.encode(hash)) under this wallet's domain
    function messageHash(bytes32 hash) public view returns (bytes32) {
        bytes32 domainSeparator = keccak256(abi.encode(_DOMAIN_TYPEHASH, block.chainid, address(this)));
        bytes32 structHash = keccak256(abi.encode(_SAFE_MSG_TYPEHASH, keccak256(abi.encode(hash))));
        return MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
    }
}
