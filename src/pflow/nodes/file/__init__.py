"""File nodes: read, write, copy, move and delete files."""
