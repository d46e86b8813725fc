# The loanwatch worker and CLI, for docker-compose.yml (services `topics` and `worker`).
#   docker build -t loanwatch:dev .
#   docker run --rm loanwatch:dev loanwatch --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README.md* : the glob keeps the build working whether or not the readme exists yet.
COPY pyproject.toml README.md* ./
COPY streams ./streams
COPY detectors ./detectors
COPY alerts ./alerts
RUN pip install . && rm -rf /src

# Run as an unprivileged user; its home for state holds the SQLite store (a volume in compose).
RUN useradd --create-home --uid 10001 loanwatch \
    && mkdir -p /var/lib/loanwatch \
    && chown loanwatch:loanwatch /var/lib/loanwatch
USER loanwatch
WORKDIR /var/lib/loanwatch
ENV LOANWATCH_STORE_URL=sqlite:////var/lib/loanwatch/loanwatch.db \
    LOANWATCH_WEB_PORT=6066

# /metrics and /health of the worker
EXPOSE 6066
CMD ["loanwatch", "worker"]
