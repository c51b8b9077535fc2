"""Pure domain core: standard library only. The clock, settings and state are arguments."""
