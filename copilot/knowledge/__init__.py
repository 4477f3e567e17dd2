"""Approved knowledge: the YAML formats, the importer and the versioned store."""
