"""The browser board's files (HTML, CSS, JavaScript; no Python code).

A package only so that ``pip install`` ships the board as package data: an installed server
finds it next to this file and serves it at ``/``.
"""
