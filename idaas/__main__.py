"""`python -m idaas` runs the CLI."""

from idaas.cli import main

main()
