"""`python -m orgorepl` runs the same entry point as the `orgorepl` console script."""

from orgorepl.cli import main

if __name__ == "__main__":
    main()
