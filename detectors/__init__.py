"""Online detectors and scores: pure, no I/O, no clock (see ../shared/design.md)."""
