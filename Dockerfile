# One image for every Ferry process: web (gunicorn), worker and scheduler.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FERRY_ENV=production

# Git sync runs the git command line (ssh for deploy keys); nothing else comes from apt.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 ferry
WORKDIR /srv/ferry

# Dependencies only from the lock, every file checked against its hash; a layer of its own so
# that a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
COPY adaptor_specs ./adaptor_specs
COPY migrations ./migrations
RUN pip install --no-deps . && mkdir -p instance && chown ferry:ferry instance

USER ferry
EXPOSE 5000
# The command differs per service in docker-compose.yml: web, worker or scheduler.
CMD ["ferry", "web", "--host", "0.0.0.0", "--port", "5000"]
