"""Pieces every vendor's handlers share: argument parsing, escaping, replies, errors."""
