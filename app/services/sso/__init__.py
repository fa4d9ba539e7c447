"""Single sign-on with OpenID Connect: the providers a superuser configures (`providers`),
reading a provider's discovery document and keys (`discovery`), checking what it sends back
(`tokens`), and the sign-in itself, from the redirect to the signed-in user (`login`).
Every way a sign-in is refused raises `refusal.Refused`."""
