# opdbot: slim Python image, non-root user, data in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 opdbot

# The wheel carries the code, the templates, the knowledge folder and the migrations.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY knowledge ./knowledge
COPY migrations ./migrations
RUN pip install . && mkdir -p /app/data && chown -R opdbot:opdbot /app/data

USER opdbot
# KNOWLEDGE_DIR=knowledge resolves to /app/knowledge: mount a curated folder over it to change
# content without rebuilding (then /muatulang).
VOLUME ["/app/data"]
EXPOSE 8080
CMD ["opdbot", "run"]
