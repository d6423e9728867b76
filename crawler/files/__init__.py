"""The file layer: the text of attachment files (PDF, Word, Excel, WPS), by what the bytes are."""
