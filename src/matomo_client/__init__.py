"""Matomo Reporting API client."""
