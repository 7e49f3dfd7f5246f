"""Stand-ins for the outside world, used by ``warmline demo`` and the integration tests.

- ``ai_fleet``: many OpenAI-compatible AI agent versions in one app, with fault injection.
- ``acd`` / ``acd_http``: an ACD with human agents that accept and resolve warm transfers.
- ``traffic`` (texts in ``conversations``): deterministic scripted customers.
- ``server``: run any of these apps inside the caller's event loop.

Production code never imports this package: it talks to real vendors through the same
contracts (``models.ai``, ``models.acd``) these simulators implement.
"""
