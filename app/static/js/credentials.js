// Credential forms: a button next to each secret shows what is typed, for checking it.
// Secrets are write-only, so there is never a stored value to reveal, only the typing.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-ferry-reveal]");
  if (!button) return;
  const input = document.getElementById(button.dataset.ferryReveal);
  if (!input) return;
  const show = input.type === "password";
  input.type = show ? "text" : "password";
  button.setAttribute("aria-pressed", String(show));
  button.querySelector("i").className = show ? "bi bi-eye-slash" : "bi bi-eye";
  input.focus();
});

// Hide every secret again before the form leaves, so browsers do not remember it as text.
document.addEventListener("submit", (event) => {
  event.target.querySelectorAll("[data-ferry-reveal]").forEach((button) => {
    const input = document.getElementById(button.dataset.ferryReveal);
    if (input) input.type = "password";
  });
}, true);
