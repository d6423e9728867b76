"""`python -m countywatch`: the same as the `countywatch` console script (used for crawl children)."""

from countywatch.cli import main

if __name__ == "__main__":
    main()
