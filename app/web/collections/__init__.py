"""Collections pages (browse, search, delete) and the collections API."""
