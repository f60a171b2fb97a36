"""Issue 5 features, shown against the emulator."""
