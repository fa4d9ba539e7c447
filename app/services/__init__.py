"""Business rules and transactions. Functions take ids and values, never `request` or `g`."""
