"""The office hub: the LAN queue server every kiosk, display and desk talks to."""
