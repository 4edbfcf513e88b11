"""Generated protobuf contracts (see proto/); regenerate with `make proto`."""
