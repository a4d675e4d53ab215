"""`python -m services.alert`: the alert service process."""

from revsync.runtime import run_service

from services.alert.app import setup

if __name__ == "__main__":
    run_service("alert", setup)
