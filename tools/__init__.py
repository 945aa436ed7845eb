"""Developer tools: setup, tests, benchmark, golden files, smoke builds."""
