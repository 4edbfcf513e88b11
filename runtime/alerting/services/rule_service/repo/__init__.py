"""SQL, one module per aggregate. Functions take a connection (or pool) and plain values;
``owner`` confines a query to one client (None: no confinement, for admins)."""
