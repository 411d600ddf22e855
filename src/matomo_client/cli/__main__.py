"""`python -m matomo_client.cli` runs the `matomo` command."""

from matomo_client.cli.app import main

if __name__ == "__main__":
    main()
