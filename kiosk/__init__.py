"""The kiosk at the office door: QR check-in, walk-in tickets, printing (issue 5)."""
