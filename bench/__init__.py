"""``make bench``: side-by-side performance ratios, measured in one process."""
