"""Estimates without vendor tools: memory footprint, resources, cycles, energy."""
