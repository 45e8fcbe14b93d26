"""The ``explain`` command line's subcommands, each beside the layer it drives."""
