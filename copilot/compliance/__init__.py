"""Compliance in real time: disclosures, forbidden phrases and special situations."""
