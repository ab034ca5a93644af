# opdbot image: two stages. The build stage makes a virtual environment in /opt/venv (the
# dependencies in their own layer, pinned by constraints.txt, so a code change does not reinstall
# them); the final stage gets only that environment, knowledge/ and migrations/.
# Build elsewhere than Docker Hub with: --build-arg BASE=<a Python 3.11 image>.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# 1) dependencies only: this layer is rebuilt when pyproject.toml or constraints.txt change
COPY pyproject.toml constraints.txt ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt -c constraints.txt
# 2) the project itself (no dependency is resolved again)
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY knowledge ./knowledge
COPY migrations ./migrations
RUN pip install --no-deps . \
 && opdbot --help >/dev/null

FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MPLCONFIGDIR=/app/data/.matplotlib \
    WEBHOOK_PORT=8080
RUN useradd --create-home --uid 10001 --user-group opdbot \
 && mkdir -p /app/data/.matplotlib \
 && chown -R opdbot:opdbot /app/data
COPY --from=build /opt/venv /opt/venv
# KNOWLEDGE_DIR=knowledge resolves to /app/knowledge: mount a curated folder over it to change
# content without rebuilding (then /muatulang). The package carries its own copy as well.
COPY --chown=opdbot:opdbot knowledge /app/knowledge
COPY migrations /app/migrations
WORKDIR /app
USER opdbot
VOLUME ["/app/data"]
EXPOSE 8080
# Webhook mode (WEBHOOK_URL set): /healthz of the webhook server. Polling mode has no port and
# counts as healthy while the process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-m", "bot.healthcheck"]
# `opdbot run` handles SIGTERM itself from its first instant (also as PID 1); compose adds an init.
CMD ["opdbot", "run"]
