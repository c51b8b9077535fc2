"""One screen, one class; its layout is in display/kv/ under the same name."""
