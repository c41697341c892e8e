# confluence-mcp: one server process per container; scale out with replicas on one Redis (compose.yaml).
# Build: docker build -t confluence-mcp .     Run: see README.md, "Operations".
# tests/test_docker.py replays this file's install and start steps in a fresh virtual environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes, not on every code change.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' > requirements.txt \
    && pip install -r requirements.txt \
    && rm requirements.txt

# Then the package itself, without dependencies (the wheel carries openapi/confluence.yaml); pip check proves
# the layer above installed everything the package declares.
COPY README.md ./
COPY openapi/ openapi/
COPY src/ src/
RUN pip install --no-deps . \
    && pip check

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data

# Every value in the shipped config comes from these variables (or ${CONFLUENCE_MCP_...:-default} in the file);
# CONFLUENCE_MCP_SECRET_KEY has no default: the server refuses to start without it.
COPY deploy/config.docker.yaml /etc/confluence-mcp/config.yaml
ENV CONFLUENCE_MCP_HOST=0.0.0.0 \
    CONFLUENCE_MCP_PORT=8000 \
    CONFLUENCE_MCP_DATA_DIR=/data

VOLUME /data
USER app
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['CONFLUENCE_MCP_PORT'] + '/healthz', timeout=4)"

# Exec form: the server is PID 1 and gets SIGTERM itself; uvicorn drains connections and runs the shutdown.
CMD ["confluence-mcp", "serve", "--config", "/etc/confluence-mcp/config.yaml"]
