"""Storage: SQLAlchemy 2 async implementation of `policies.ports.Repository`. No Telegram imports."""
