"""One screen, one class (here) and one .kv file (kiosk/kv/). Screens only show a flow View."""
