"""The development outbox: mail that was not sent because MAIL_URL is unset."""
