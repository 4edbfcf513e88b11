"""The platform services, one package or module each."""
