"""procurechain: public procurement on Ethereum, driven from Python."""

__version__ = "0.1.0"
