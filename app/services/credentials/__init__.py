"""Credentials: encrypted storage, forms from adaptor schemas, sharing, transfers between users,
OAuth.
"""
