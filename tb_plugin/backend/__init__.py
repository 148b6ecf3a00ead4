"""The TensorBoard side: plugin routes, data access through the data provider, series and projections.

Loaded by TensorBoard's process (entry point `internals`); numpy only, and it
imports nothing of the writer doors, the logging core or a framework.
"""
