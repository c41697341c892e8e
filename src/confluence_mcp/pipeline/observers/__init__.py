"""What sees every finished call (logs today; metrics and audit later), one module each."""
