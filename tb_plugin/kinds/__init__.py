"""One module per summary kind: its fields, its numpy statistics, encode and decode.

Each module is shared by both writer doors (`tb_plugin.summary`), the logging
core, the backend and the `Reader`, so a kind's numbers are computed by one
piece of code wherever they are written or read. numpy only.
"""
