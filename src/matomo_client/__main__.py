"""`python -m matomo_client` runs the `matomo` command (where its script is not on PATH)."""

from matomo_client.cli.app import main

if __name__ == "__main__":
    main()
