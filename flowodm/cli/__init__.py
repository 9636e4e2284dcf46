"""The ``flowodm`` command line: ``flowodm sandbox …`` and ``flowodm produce …``."""
