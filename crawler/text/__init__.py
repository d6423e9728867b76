"""The text layer: plain text (a seed, or the main text the HTML layer found) to a clean record."""
