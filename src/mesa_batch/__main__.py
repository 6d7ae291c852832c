"""``python -m mesa_batch``: the command line (see ``mesa_batch.cli``)."""

from mesa_batch._entry import main

main()
