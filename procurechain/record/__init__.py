"""The public record: what a tender says, read back from the chain and published as OCDS."""
