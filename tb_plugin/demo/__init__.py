"""The demo runs behind `demo_logs/`: `python -m tb_plugin.demo demo_logs` (needs the `demo` extra)."""
