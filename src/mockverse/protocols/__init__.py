"""Protocols beside HTTP: webhooks (``webhooks.py``) and the TCP listener (``tcp.py``).

What each sends about a persona is kept as a message record in the world's graph
(:mod:`mockverse.world.records`).
"""
