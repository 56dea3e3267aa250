"""Flamenco Worker: the program that runs on render nodes and executes tasks."""
