"""`python -m services.ticket`: the ticket service process."""

from revsync.runtime import run_service

from services.ticket.app import setup

if __name__ == "__main__":
    run_service("ticket", setup)
