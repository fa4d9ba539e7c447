"""Credentials: forms from adaptor schemas, write-only secrets, sharing, transfer, OAuth."""
