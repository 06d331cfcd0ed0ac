"""Local emulators used by tests, `idaas demo` and development; never mounted by `create_app`."""
