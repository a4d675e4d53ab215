"""`python -m services.cwrmm_connector`: run the connector (configuration from the environment,
see `settings.ConnectorSettings`)."""

from services.cwrmm_connector.app import main

if __name__ == "__main__":
    main()
