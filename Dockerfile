# opdbot: slim Python image, non-root user, data in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 opdbot

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install .

COPY knowledge ./knowledge
COPY migrations ./migrations
RUN mkdir -p /app/data && chown -R opdbot:opdbot /app/data

USER opdbot
VOLUME ["/app/data"]
EXPOSE 8080
CMD ["opdbot", "run"]
