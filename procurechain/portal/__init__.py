"""The citizens' portal: an incremental index of the chain's public record in a database
(:mod:`procurechain.portal.index`), red flags over it, and a read-only web view
(:mod:`procurechain.portal.web`) served by ``ape run portal``."""
