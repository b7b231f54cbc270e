"""Promotions models."""
