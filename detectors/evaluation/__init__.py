"""Scenarios with labelled windows, and the offline evaluation of the detectors against them."""
