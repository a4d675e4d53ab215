"""`python -m services.company`: the company service process."""

from revsync.runtime import run_service

from services.company.app import SERVICE, setup

if __name__ == "__main__":
    run_service(SERVICE, setup)
