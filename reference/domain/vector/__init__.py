"""Vector core of the reference server: catalog, filter expressions, exact search kernel."""
