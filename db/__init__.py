"""The data of the counter: tables, the SQLite engine, queries, exports and the chain."""
