"""ConnectWise RMM (Asio platform) sandbox: `create_app()` in `services.sandbox.cwrmm.app`."""
