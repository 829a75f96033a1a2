# dbcron scheduler image: slim Python, non-root, `dbcron start` by default.
# Configure with environment variables (DATABASE_URL or SUPABASE_DB_URL, DBCRON_*) and/or
# a config file mounted at /etc/dbcron/config.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DBCRON_CONFIG=/etc/dbcron/config.yaml \
    DBCRON_LOGGING__FILE=/var/lib/dbcron/job_scheduler.log \
    DBCRON_SCHEDULER__PID_FILE=/var/lib/dbcron/dbcron.pid

WORKDIR /opt/dbcron
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
 && useradd --system --create-home --home-dir /var/lib/dbcron --shell /usr/sbin/nologin dbcron \
 && mkdir -p /etc/dbcron \
 && touch /etc/dbcron/config.yaml

USER dbcron
WORKDIR /var/lib/dbcron
STOPSIGNAL SIGTERM
ENTRYPOINT ["dbcron"]
CMD ["start"]
