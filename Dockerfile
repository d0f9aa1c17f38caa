# Production image: the built client and the Python gateway in one image.

FROM node:20-slim AS client
WORKDIR /client
COPY client/ ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; \
    else mkdir -p dist; fi

FROM python:3.11-slim AS server
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INTERVIEW_ENV=production \
    INTERVIEW_DATA_DIR=/data \
    INTERVIEW_CLIENT_DIST=/app/client/dist
WORKDIR /app
RUN useradd --create-home --uid 10001 interview && mkdir -p /data && chown interview /data
COPY pyproject.toml README.md alembic.ini ./
COPY server/ server/
COPY migrations/ migrations/
RUN pip install --no-cache-dir .
COPY --from=client /client/dist client/dist
USER interview
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
CMD ["interview", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]
