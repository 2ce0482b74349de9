"""Entry points and wiring: settings, the app factory, the CLI, embedded services."""
