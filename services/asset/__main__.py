"""`python -m services.asset`: the asset service process."""

from revsync.runtime import run_service

from services.asset.app import SERVICE, setup

if __name__ == "__main__":
    run_service(SERVICE, setup)
