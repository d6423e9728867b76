"""`countywatch serve`: the read-only web page, Atom feeds and JSON API."""
