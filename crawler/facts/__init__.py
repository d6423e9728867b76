"""Facts read from clean text: dates, the county or district, topics and categories."""
